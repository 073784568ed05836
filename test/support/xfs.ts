// A small XFS with reflink in a loop-mounted image file: where copy-on-write clones are tested
// for real (FICLONE). Needs root and xfsprogs (scripts/ensure-system-deps.sh installs it).
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';

export interface XfsDisk {
  /** Where it is mounted. */
  mount: string;
  image: string;
}

/**
 * Makes a sparse image of `bytes` beside `dir`, formats it XFS with reflink and mounts it at
 * `dir` (mode 0755). Returns why it cannot instead, only when this machine cannot loop-mount at
 * all (not root, no loop device): the caller skips, saying so. Unmount with unmountXfs.
 */
export async function mountXfs(dir: string, bytes = 512 * 1024 * 1024): Promise<XfsDisk | string> {
  if (process.getuid?.() !== 0) {
    return 'loop mounts need root';
  }
  await fs.mkdir(dir, { recursive: true });
  const image = `${dir}.img`;
  const handle = await fs.open(image, 'w');
  await handle.truncate(bytes);
  await handle.close();
  execFileSync('mkfs.xfs', ['-q', '-f', '-m', 'reflink=1', image], { stdio: 'pipe' });
  try {
    execFileSync('mount', ['-o', 'loop', image, dir], { stdio: 'pipe' });
  } catch (error) {
    await fs.rm(image, { force: true });
    const stderr = String((error as { stderr?: unknown }).stderr ?? error);
    if (/loop device|permission denied|not permitted/i.test(stderr)) {
      return `this machine cannot loop-mount an image (${stderr.trim()})`;
    }
    throw error;
  }
  await fs.chmod(dir, 0o755);
  return { mount: dir, image };
}

/** Unmounts and removes what mountXfs made; nothing when it is not mounted. */
export async function unmountXfs(disk: XfsDisk | string | undefined): Promise<void> {
  if (!disk || typeof disk === 'string') {
    return;
  }
  try {
    execFileSync('umount', [disk.mount], { stdio: 'pipe' });
  } catch (error) {
    if (!/not mounted|no mount point|not found/i.test(String((error as { stderr?: unknown }).stderr ?? error))) {
      throw error;
    }
  }
  await fs.rm(disk.image, { force: true });
}

/** The physical extents of a file (start block and length each), as `filefrag -v` lists them. */
export function physicalExtents(file: string): string[] {
  const listing = execFileSync('filefrag', ['-v', file], { encoding: 'utf8' });
  const extents: string[] = [];
  for (const line of listing.split('\n')) {
    // "   0:        0..    2047:         24..      2071:   2048:             last,shared,eof"
    const match = /^\s*\d+:\s+\d+\.\.\s*\d+:\s+(\d+)\.\.\s*(\d+):/.exec(line);
    if (match) {
      extents.push(`${match[1]}..${match[2]}`);
    }
  }
  return extents;
}

/** Bytes in use on the file system holding `dir` (statfs). */
export async function usedBytes(dir: string): Promise<number> {
  const stats = await fs.statfs(dir);
  return (stats.blocks - stats.bfree) * stats.bsize;
}
