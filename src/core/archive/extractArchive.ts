import { createReadStream, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { ReadEntry, Unpack } from 'tar';
import type { ArchiveProgress } from './exportArchive';
import { AcceptedEntry, ArchiveEntryGuard } from './entryGuard';
import { extractionError, unreadableArchive } from './archiveErrors';
import { ArchiveLimits, DEFAULT_ARCHIVE_LIMITS, ExpansionMeter } from './archiveLimits';
import { whyNotAnEnvironment } from '../trac/environment';
import { TracBackupError, errnoCode } from '../shared/errors';
import { applyEntryMetadata, checkLinksStayInside } from './extractedTree';
import { removeTree } from '../fs/fileTree';
import { destinationError, makeFolders } from '../fs/fsErrors';
import { unpackSink } from './unpackSink';
import { makeUnpackFolder, sweepUnpackFolders } from './unpackFolder';
import { canKeepOwners } from '../fs/owners';

export interface ExtractArchiveOptions {
  signal?: AbortSignal;
  onProgress?: (event: ArchiveProgress) => void;
  /** Any limit left out keeps its default (DEFAULT_ARCHIVE_LIMITS). */
  limits?: Partial<ArchiveLimits>;
  /** Give entries the owners the archive records, as tar does for root. Default: canKeepOwners(). */
  keepOwners?: boolean;
}

export interface ExtractArchiveResult {
  dir: string;
  entries: number;
  /** What was extracted, relative to `dir`. */
  accepted: readonly AcceptedEntry[];
  /** What the archive expanded to (its tar stream). */
  bytes: number;
}

const ARCHIVE_NAME = /\.(tar\.gz|tgz)$/i;

/** True for a name a gzip'd tar archive has (`.tar.gz`, `.tgz`); says nothing of what is there. */
export function isArchivePath(file: string): boolean {
  return ARCHIVE_NAME.test(file);
}

/**
 * Extracts an untrusted .tar.gz into `intoDir`, a new folder (its parent must exist). Each entry
 * is judged from its header before anything of it is written (ArchiveEntryGuard); the stream is
 * watched for expansion (ExpansionMeter); node-tar runs strict, without absolute paths, without
 * writing through links, without owners. Once everything is in place, symbolic links are
 * followed on disk to check they stay inside, and modes (without set-ID bits) and times are set.
 * On any refusal, error or cancel, node-tar's writes in flight are waited for and the folder
 * is removed: nothing is left, and nothing was ever written outside it. The folder gets the
 * mode of the archive's `./` entry at the end: withExtractedArchive puts it inside a private
 * one, so that no other user can reach the tree while it is extracted and used.
 */
export async function extractArchive(
  archiveFile: string,
  intoDir: string,
  options: ExtractArchiveOptions = {},
): Promise<ExtractArchiveResult> {
  const archive = path.resolve(archiveFile);
  const dir = path.resolve(intoDir);
  const limits = { ...DEFAULT_ARCHIVE_LIMITS, ...options.limits };
  const archiveBytes = await archiveSize(archive);
  await makeFolder(dir);
  const guard = new ArchiveEntryGuard(archive, limits, archiveBytes, await freeSpace(path.dirname(dir)), path.dirname(dir));
  const meter = new ExpansionMeter(archive, limits, (compressed) =>
    options.onProgress?.({
      phase: 'extract',
      bytesDone: compressed,
      bytesTotal: archiveBytes,
      filesDone: guard.entryCount,
      filesTotal: guard.entryCount,
    }),
  );
  const unpack = new Unpack({
    cwd: dir,
    strict: true,
    preservePaths: false,
    preserveOwner: false,
    keep: true,
    // node-tar counts '.' and the empty name after a folder's '/': the guard's count is the one that holds.
    maxDepth: limits.maxDepth + 2,
    zstd: false,
    brotli: false,
    maxDecompressionRatio: limits.maxRatio,
    filter: (_path, entry) => guard.accept(entry as ReadEntry),
  });
  unpack.on('ignoredEntry', (entry: ReadEntry) => guard.ignored(entry));
  const { sink, settle } = unpackSink(unpack, () => guard.refusal);
  try {
    await pipeline(createReadStream(archive), meter.countCompressed(), createGunzip(), meter.checkExpanded(), sink, {
      signal: options.signal,
    });
    await checkLinksStayInside(dir, guard.accepted, archive);
    await applyEntryMetadata(dir, guard.accepted, { keepOwners: options.keepOwners ?? canKeepOwners() });
  } catch (error) {
    const reported = extractionError(guard.refusal ?? error, archive, dir, options.signal);
    guard.stop();
    await settle();
    await removeTree(dir);
    throw reported;
  }
  return { dir, entries: guard.entryCount, accepted: guard.accepted, bytes: meter.expanded };
}

/**
 * Extracts the archive into a new private temporary folder in `tempParent` (default: the
 * system's; a restore passes a folder on the target's file system), calls `fn` with the Trac
 * environment in it (the top of the archive, or its one top folder holding VERSION: then every
 * symbolic link in that folder must stay inside it, since that folder is what becomes the
 * environment), and removes the temporary folder afterwards, whatever happens. `fn` may move
 * the environment away (a restore does).
 */
export async function withExtractedArchive<T>(
  archiveFile: string,
  fn: (environmentRoot: string) => Promise<T>,
  options: ExtractArchiveOptions & { tempParent?: string; onSwept?: (folder: string) => void } = {},
): Promise<T> {
  const archive = path.resolve(archiveFile);
  const name = path.basename(archive).replace(ARCHIVE_NAME, '') || 'archive';
  const parent = path.resolve(options.tempParent ?? os.tmpdir());
  await makeFolders(parent);
  // Folders left by an unpack that was killed hold a whole copy of a backup: clear them first.
  for (const swept of await sweepUnpackFolders(parent)) {
    options.onSwept?.(swept);
  }
  const { folder: temp, release } = await makeUnpackFolder(parent, name).catch((error: unknown) => {
    throw destinationError(error, parent);
  });
  let succeeded = false;
  try {
    const dir = path.join(temp, name);
    const extracted = await extractArchive(archive, dir, options);
    const root = await environmentRoot(dir, archive);
    if (root !== dir) {
      await checkLinksStayInside(root, extracted.accepted, archive, path.basename(root));
    }
    const result = await fn(root);
    succeeded = true;
    return result;
  } finally {
    // A failure to clean up must not hide why the work failed.
    await removeTree(temp)
      .then(release)
      .catch((error) => {
        if (succeeded) {
          throw error;
        }
      });
  }
}

async function environmentRoot(dir: string, archive: string): Promise<string> {
  const topReason = await whyNotAnEnvironment(dir);
  if (!topReason) {
    return dir;
  }
  if (topReason.includes('no VERSION')) {
    const withVersion: string[] = [];
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      const stats = entry.isDirectory() ? await fs.lstat(path.join(dir, entry.name, 'VERSION')).catch(() => undefined) : undefined;
      if (stats?.isFile()) {
        withVersion.push(entry.name);
      }
    }
    if (withVersion.length === 1) {
      const root = path.join(dir, withVersion[0]);
      const reason = await whyNotAnEnvironment(root);
      if (!reason) {
        return root;
      }
      throw notABackup(archive, `its folder '${withVersion[0]}' is not a Trac environment: ${reason}`);
    }
    if (withVersion.length > 1) {
      throw notABackup(archive, `it holds several folders with a VERSION file (${withVersion.join(', ')}), not one environment`);
    }
    throw notABackup(archive, 'it has no VERSION file, at its top or in a folder at its top');
  }
  throw notABackup(archive, topReason);
}

function notABackup(archive: string, reason: string): TracBackupError {
  return new TracBackupError(
    'NOT_AN_ENVIRONMENT',
    `The archive ${archive} does not hold a Trac backup: ${reason}. Choose an archive made by 'trac-backup archive', ` +
      'or by tar from a backup folder.',
    archive,
  );
}

async function archiveSize(archive: string): Promise<number> {
  let stats;
  try {
    stats = await fs.stat(archive);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') {
      throw new TracBackupError('INVALID_ARGUMENT', `The archive ${archive} does not exist: check its path.`, archive);
    }
    throw unreadableArchive(archive, `it cannot be read (${errnoCode(error)})`, error);
  }
  if (!stats.isFile()) {
    throw new TracBackupError('INVALID_ARGUMENT', `${archive} is not an archive file: choose a .tar.gz file.`, archive);
  }
  return stats.size;
}

async function makeFolder(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir, { mode: 0o700 });
  } catch (error) {
    if (errnoCode(error) === 'EEXIST') {
      throw new TracBackupError(
        'DESTINATION_EXISTS',
        `Can't extract into existing '${dir}': choose a folder that does not exist yet.`,
        dir,
      );
    }
    throw destinationError(error, dir);
  }
}

async function freeSpace(dir: string): Promise<number> {
  try {
    const stats = await fs.statfs(dir);
    return stats.bavail * stats.bsize;
  } catch {
    return Infinity;
  }
}
