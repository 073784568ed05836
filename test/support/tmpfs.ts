// Small real file systems for tests: a second disk (for symbolic links that leave the
// environment's disk) and disks sized to fill up at a chosen write.
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';

/** tmpfs counts space in pages. */
export const PAGE_BYTES = 4096;

/**
 * Mounts a new tmpfs of `bytes` (rounded up to whole pages) at `dir`, made if missing, with mode
 * 0755 so that a child running as another user can walk into it. Needs root; unmount with
 * unmountTmpfs, in a finally or an after hook.
 */
export async function mountTmpfs(dir: string, bytes: number): Promise<string> {
  await fs.mkdir(dir, { recursive: true });
  const size = Math.ceil(bytes / PAGE_BYTES) * PAGE_BYTES;
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir], { stdio: 'pipe' });
  return dir;
}

/** Changes the size of a mounted tmpfs (what is on it stays). */
export function resizeTmpfs(dir: string, bytes: number): void {
  const size = Math.ceil(bytes / PAGE_BYTES) * PAGE_BYTES;
  execFileSync('mount', ['-o', `remount,size=${size}`, dir], { stdio: 'pipe' });
}

/** Unmounts a tmpfs mounted by mountTmpfs; nothing when it is not mounted. */
export function unmountTmpfs(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' });
  } catch (error) {
    if (!/not mounted|no mount point|not found/i.test(String((error as { stderr?: unknown }).stderr ?? error))) {
      throw error;
    }
  }
}

/** Bytes in use and bytes free on the file system holding `dir`, as statfs reports them. */
export async function diskSpace(dir: string): Promise<{ used: number; free: number }> {
  const stats = await fs.statfs(dir);
  return { used: (stats.blocks - stats.bfree) * stats.bsize, free: stats.bavail * stats.bsize };
}

/** Writes a file of `bytes` zero bytes (real blocks, not a hole) to take that much space. */
export async function writeFiller(file: string, bytes: number): Promise<void> {
  const handle = await fs.open(file, 'w');
  try {
    const chunk = Buffer.alloc(Math.min(bytes, 1024 * 1024));
    for (let written = 0; written < bytes;) {
      const { bytesWritten } = await handle.write(chunk, 0, Math.min(chunk.length, bytes - written));
      written += bytesWritten;
    }
  } finally {
    await handle.close();
  }
}
