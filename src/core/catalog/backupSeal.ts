import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { BackupManifest, MANIFEST_FILE, folderIdentity } from './manifest';

/**
 * A backup's seal: the ctime of its metadata file, which the backup wrote after every file of it
 * was in place (`seal.at`, the clock's reading just before). A file of the backup whose ctime is
 * older has not been written, chmodded or linked since its SHA-256 was taken from the bytes
 * copied. It vouches only for the folder the backup made (`seal.folder`: not a copy of it, which
 * holds files as new as its metadata) while the metadata file is untouched (its ctime within a
 * moment of `seal.at`: a later edit or chmod moves it, and would make newer changes look sealed).
 * Backups made before seals have none.
 */
export async function sealedBefore(root: string, manifest: Pick<BackupManifest, 'seal'>): Promise<number | undefined> {
  const { seal } = manifest;
  const sealedAtMs = typeof seal?.at === 'string' ? Date.parse(seal.at) : NaN;
  if (Number.isNaN(sealedAtMs)) {
    return undefined;
  }
  const [folder, metadata] = await Promise.all([
    fs.stat(root).catch(() => undefined),
    fs.lstat(path.join(root, MANIFEST_FILE)).catch(() => undefined),
  ]);
  const identity = folder && folderIdentity(folder);
  if (
    !identity ||
    identity.dev !== seal?.folder?.dev ||
    identity.ino !== seal.folder.ino ||
    identity.birthtimeMs !== seal.folder.birthtimeMs ||
    !metadata?.isFile() ||
    Math.abs(metadata.ctimeMs - sealedAtMs) > SEAL_WRITE_MS ||
    metadata.ctimeMs > Date.now()
  ) {
    return undefined;
  }
  return metadata.ctimeMs;
}

/** How long writing the metadata file may take after `seal.at` was read (a large one, a slow disk), and clocks' ticks. */
const SEAL_WRITE_MS = 10_000;
