import * as fsSync from 'node:fs';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { isBackupOf, isOtherHost } from '../catalog/backupCatalog';
import { TracBackupError, errnoCode } from '../shared/errors';
import { hashFile, readOnlyMode } from '../fs/fileCopy';
import { TreeEntry } from '../fs/fileTree';
import { destinationError } from '../fs/fsErrors';
import { ManifestFile, readManifest } from '../catalog/manifest';
import { sealedBefore } from '../catalog/backupSeal';
import { FileReuse } from '../fs/treeMirror';
import { unchangedSinceVerified } from '../catalog/verificationStore';

/** Lookups of the previous backup's files queued at once while the environment is walked (see warmUp). */
const WARM_UP_LOOKUPS = 128;

/** Link failures that will fail for every file alike: stop trying, copy the rest. */
const LINKS_IMPOSSIBLE: Record<string, string> = {
  EXDEV: 'the previous backup is on another file system',
  EPERM: 'the file system does not allow hard links here',
  EACCES: "no permission to link the previous backup's files",
  ENOTSUP: 'the file system does not support hard links',
  EOPNOTSUPP: 'the file system does not support hard links',
  ENOSYS: 'the file system does not support hard links',
  // exFAT and FAT32 (USB disks on Windows): libuv reports their missing hard links so.
  EISDIR: 'the file system does not support hard links (exFAT, FAT32)',
};

/** Link failures of one file only: copy that one, keep linking the others. */
const LINK_FAILS_FOR_FILE: Record<string, string> = {
  EMLINK: 'some files of the previous backup have as many hard links as the file system allows',
  ENOENT: '',
};

/**
 * A previous backup of the same environment, whose unchanged files a new backup hard-links
 * rather than copies. A file is unchanged when the source's size, modification time and mode
 * equal those the previous backup's metadata recorded for it, and its file there still has that
 * size and time. Hard links share one inode, hence one mtime and mode: a file whose mtime differs
 * is copied, even with equal content, so that every backup keeps its source's times.
 *
 * A link carries the previous backup's bytes into the new backup, so they must still be the
 * bytes its metadata's SHA-256 describes. Cheap proof first: the file has not changed (its ctime,
 * which any write, chmod or link moves, even one that puts the mtime back) since a moment its
 * bytes were known to match: the previous backup's seal (its metadata file was written after
 * every file of it was in place, with SHA-256s of the bytes copied: see `sealedBefore`), or the
 * start of a passed verification (`verifiedAt`). Otherwise its content is hashed and compared:
 * equal, it is linked; different (rot, an edit), it is copied from the environment instead, and
 * `damageNote` says the previous backup is damaged.
 */
export class PreviousBackup implements FileReuse {
  /** Why some files were copied although they were unchanged; set once. */
  fallback: string | undefined;
  /** Told the fallback's reason, once. */
  onFallback: (reason: string) => void = () => undefined;
  /** Told, once, that a file of the previous backup no longer matches its checksum. */
  onDamaged: (note: string) => void = () => undefined;
  /** Set when the backup keeps owners: a file is linked only when its owner is the source's. */
  keepOwners = false;
  private linkingStopped = false;
  private readonly damaged: string[] = [];
  private warmingStopped = false;

  private constructor(
    readonly root: string,
    private readonly files: Map<string, ManifestFile>,
    private readonly destination: string,
    /** When the previous backup's last passed verification began (ms), if it passed one since it was made. */
    private readonly verifiedAtMs: number | undefined,
    /** The ctime of the previous backup's metadata file, where it vouches for the files (see sealedBefore). */
    private readonly sealCtimeMs: number | undefined,
  ) {}

  /**
   * Checks that `linkDest` is a backup made by this tool of the environment at `sourceRoot`, and
   * not the destination itself; refuses with a message saying what to pass instead. `verifiedAt`:
   * when its last passed verification began (see verificationStore.ts); without it every file
   * shared is hashed before it is linked.
   */
  static async open(
    linkDest: string,
    sourceRoot: string,
    destination: string,
    options: { verifiedAt?: string } = {},
  ): Promise<PreviousBackup> {
    const root = path.resolve(linkDest);
    if (root === path.resolve(destination)) {
      throw refusal(root, `is the destination itself: link from an earlier backup of ${sourceRoot}`);
    }
    const stats = await fs.stat(root).catch((error: unknown) => {
      throw refusal(root, errnoCode(error) === 'ENOENT' ? 'does not exist' : `cannot be read (${errnoCode(error)})`);
    });
    if (!stats.isDirectory()) {
      throw refusal(root, 'is not a folder');
    }
    const manifest = await readManifest(root);
    if (!manifest) {
      throw refusal(root, 'has no trac-backup metadata (.trac-backup.json): link from a backup made by trac-backup');
    }
    const recorded = { sourcePath: manifest.source.path, sourceHost: manifest.source.host, sourceIdentity: manifest.source.identity };
    if (!(await isBackupOf(recorded, sourceRoot))) {
      const made = isOtherHost(manifest.source.host)
        ? `${manifest.source.path} on another machine (${manifest.source.host}), not of ${sourceRoot} on this one`
        : `${manifest.source.path}, not of ${sourceRoot}`;
      throw refusal(root, `is a backup of ${made}: link from a backup of the same environment`);
    }
    // The database is always a fresh snapshot, and a rewritten trac.ini is not the source's.
    const notShared = new Set([manifest.database.path, manifest.database.configRewritten?.file]);
    const files = new Map<string, ManifestFile>();
    for (const entry of manifest.entries) {
      if (entry.type === 'file' && entry.sha256 && !notShared.has(entry.path)) {
        files.set(entry.path, entry);
      }
    }
    const verifiedAtMs = options.verifiedAt === undefined ? undefined : Date.parse(options.verifiedAt);
    const seal = await sealedBefore(root, manifest);
    return new PreviousBackup(root, files, destination, Number.isNaN(verifiedAtMs) ? undefined : verifiedAtMs, seal);
  }

  /**
   * Looks up the previous backup's files ahead of `reuse`, many at once on the thread pool, while
   * the environment is walked: each lookup reads folders and an inode that nothing has read since
   * that backup was made, and one at a time (as `reuse` goes) they cost as much as the walk itself.
   * Only the cache is warmed: `reuse` looks again, so nothing here decides anything. Stop it with
   * `stopWarmUp` once the backup ends, however it ends.
   */
  warmUp(): void {
    const paths = [...this.files.keys()];
    let next = 0;
    const lane = (): void => {
      if (this.warmingStopped || next >= paths.length) {
        return;
      }
      fsSync.lstat(path.join(this.root, ...paths[next++].split('/')), lane);
    };
    // The walk holds the event loop for slices of a few ms: enough lookups queued to keep the pool busy between them.
    for (let index = 0; index < WARM_UP_LOOKUPS; index++) {
      lane();
    }
  }

  /** Stops the lookups ahead (the backup is done or failed): the process need not wait for them. */
  stopWarmUp(): void {
    this.warmingStopped = true;
  }

  /** One sentence on the files of the previous backup that no longer match their checksum, when there are some. */
  get damageNote(): string | undefined {
    if (this.damaged.length === 0) {
      return undefined;
    }
    const more = this.damaged.length > 1 ? ` (and ${this.damaged.length - 1} more file${this.damaged.length > 2 ? 's' : ''})` : '';
    return `${this.damaged[0]}${more} in ${this.root} no longer matches its checksum: copied from the environment; that backup is damaged`;
  }

  async reuse(entry: TreeEntry, target: string): Promise<{ sha256: string } | undefined> {
    const previous = this.files.get(entry.relative);
    if (
      this.linkingStopped ||
      !previous ||
      previous.size !== entry.size ||
      previous.mtimeMs !== entry.mtimeMs ||
      previous.mode !== entry.mode
    ) {
      return undefined;
    }
    const existing = path.join(this.root, ...entry.relative.split('/'));
    let stats: fsSync.Stats;
    try {
      stats = fsSync.lstatSync(existing);
    } catch {
      return undefined;
    }
    // Setting times goes through a float of seconds: allow for the rounding, not for a change.
    if (!stats.isFile() || stats.size !== previous.size || Math.abs(stats.mtimeMs - previous.mtimeMs) >= 1) {
      return undefined;
    }
    // A link shares its owner with the previous backup's file: where owners are kept, they must agree.
    if (this.keepOwners && (stats.uid !== entry.uid || stats.gid !== entry.gid)) {
      return undefined;
    }
    if (!this.unchangedSinceVerified(stats) && !(await this.stillMatches(existing, entry.relative, previous.sha256))) {
      return undefined;
    }
    try {
      fsSync.linkSync(existing, target);
    } catch (error) {
      this.linkFailed(error);
      return undefined;
    }
    const mode = readOnlyMode(entry.mode);
    if ((stats.mode & 0o7777) !== mode) {
      // A backup made before files were read-only: the change reaches it too, which is as wanted.
      fsSync.chmodSync(target, mode);
    }
    return { sha256: previous.sha256 };
  }

  private unchangedSinceVerified(stats: fsSync.Stats): boolean {
    // The same clock on both sides (the file system's), so no margin: a change after the seal is stamped at or after it.
    return (this.sealCtimeMs !== undefined && stats.ctimeMs < this.sealCtimeMs) || unchangedSinceVerified(stats.ctimeMs, this.verifiedAtMs);
  }

  /** Hashes the previous backup's file: true when it is still what its metadata says. */
  private async stillMatches(file: string, relative: string, sha256: string): Promise<boolean> {
    const actual = await hashFile(file).catch(() => undefined);
    if (actual === sha256) {
      return true;
    }
    this.damaged.push(relative);
    if (this.damaged.length === 1) {
      this.onDamaged(this.damageNote!);
    }
    return false;
  }

  private linkFailed(error: unknown): void {
    const code = errnoCode(error) ?? '';
    const impossible = LINKS_IMPOSSIBLE[code];
    const forFile = LINK_FAILS_FOR_FILE[code];
    if (impossible === undefined && forFile === undefined) {
      throw destinationError(error, this.destination);
    }
    if (impossible !== undefined) {
      this.linkingStopped = true;
    }
    const reason = impossible ?? forFile;
    if (reason && this.fallback === undefined) {
      this.fallback = `${code}: ${reason}; files were copied instead`;
      this.onFallback(this.fallback);
    }
  }
}

function refusal(linkDest: string, problem: string): TracBackupError {
  return new TracBackupError('INVALID_ARGUMENT', `Can't link unchanged files from ${linkDest}: it ${problem}.`, linkDest);
}
