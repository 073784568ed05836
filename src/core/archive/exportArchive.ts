import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { isInside, realpathAllowingMissing } from '../fs/paths';
import { readEnvironment, whyNotAnEnvironment } from '../trac/environment';
import { CancelledError, TracBackupError, errnoCode, isCancelled } from '../shared/errors';
import { findLinkLeaving } from './extractedTree';
import { TreeEntry, walkTree, pathExists } from '../fs/fileTree';
import { MadeFolders, destinationError, makeFolders, removeMadeFolders } from '../fs/fsErrors';
import { detectLiveTrac } from '../trac/liveTrac';
import { BackupManifest, readManifest } from '../catalog/manifest';
import { sqliteSideFiles } from '../sqlite/sqlite';
import { tarStream } from './tarWriter';
import { Progress } from '../shared/progress';
import { SweptWork, releaseWork, sweepDeadWork, workPathFor } from '../work/workFolder';
import { ownerOnlyWarning } from '../fs/ownerOnly';

/** archive: writing an archive; extract: unpacking one. */
export type ArchivePhase = 'archive' | 'extract';

/**
 * Progress of an export or an extraction, in bytes. Exporting: bytes of file content read
 * out of the backup, of all there are (path: the file being read, relative to the backup).
 * Extracting: bytes of the archive read, of its size (how much it expands to is not known until
 * the end); files are the entries so far.
 */
export type ArchiveProgress = Progress<ArchivePhase>;

export interface ExportArchiveOptions {
  signal?: AbortSignal;
  onProgress?: (event: ArchiveProgress) => void;
  /** Told of each partial archive of a killed export swept from the archive's folder first. */
  onSwept?: (swept: SweptWork) => void;
  /**
   * Replace a file already at the archive's path (a save dialog asked the user first): the new
   * archive is still written beside it and renamed over it only once complete, so the old one
   * stays until the new one is whole. Default: refuse an existing file.
   */
  replace?: boolean;
}

export interface ExportArchiveResult {
  /** Absolute path of the archive written. */
  archive: string;
  backup: string;
  files: number;
  /** Bytes of file content archived. */
  bytes: number;
  /** Size of the .tar.gz. */
  archiveBytes: number;
  durationMs: number;
  /** Partial archives that killed exports had left in the archive's folder, removed first. */
  swept: SweptWork[];
  /** Where the archive could not be made readable by its owner only (Windows): what to do (fs/ownerOnly.ts). */
  permissionsWarning?: string;
}

/**
 * Writes the backup folder as a gzip-compressed tar file. Entries are relative to the backup
 * folder, as `tar czf <file> -C <backup> .` writes them (`./`, `./VERSION`, `./conf/trac.ini`,
 * …), so `tar xzf <file> -C <new folder>` gives the backup back as an environment Trac can
 * write to: times (to the millisecond) and symbolic links (as links) are kept, owners are
 * recorded by number, and files have the modes of the environment they were backed up from
 * (from the metadata; a backup keeps its own files read-only).
 * Refused before anything is written: a symbolic link that leads outside the backup (a restore
 * from the archive would refuse it), and a live environment (SQLite side files beside its
 * database, or Trac using it). The archive is written to a hidden sibling file and put in place
 * only once complete and flushed to disk; an existing file is never replaced. It is readable
 * by its owner only: it holds the whole Trac database (on Windows it has its folder's
 * permissions instead, and permissionsWarning says so).
 */
export async function exportArchive(
  backupPath: string,
  archiveFile: string,
  options: ExportArchiveOptions = {},
): Promise<ExportArchiveResult> {
  const started = Date.now();
  const backup = path.resolve(backupPath);
  const archive = path.resolve(archiveFile);
  await checkExport(backup, archive, options.replace ?? false);
  const entries = await walkTree(backup, { signal: options.signal });
  await refuseLinksLeaving(backup, entries);
  await refuseLiveEnvironment(backup);
  const modes = await sourceModes(backup);
  const files = entries.filter((entry) => entry.kind === 'file');
  const progress: ArchiveProgress = {
    phase: 'archive',
    bytesDone: 0,
    bytesTotal: files.reduce((sum, entry) => sum + entry.size, 0),
    filesDone: 0,
    filesTotal: files.length,
  };
  const emit = (relative?: string) => options.onProgress?.({ ...progress, path: relative });
  emit();
  const swept = await sweepDeadWork(path.dirname(archive), ['archive']);
  swept.forEach((item) => options.onSwept?.(item));
  const temp = await createTemporaryFile(archive);
  try {
    const tar = tarStream(backup, entries, {
      signal: options.signal,
      modeOf: (relative) => modes.get(relative),
      onData: (bytes, relative) => {
        progress.bytesDone += bytes;
        emit(relative);
      },
      onFileDone: (relative) => {
        progress.filesDone += 1;
        emit(relative);
      },
    });
    await pipeline(Readable.from(tar), createGzip(), temp.stream, { signal: options.signal });
    await flushToDisk(temp.path);
    if (options.replace) {
      await fs.rename(temp.path, archive);
    } else {
      await publishFile(temp.path, archive);
    }
  } catch (error) {
    await fs.rm(temp.path, { force: true }).catch(() => undefined);
    await removeMadeFolders(temp.madeParents);
    if (options.signal?.aborted && !isCancelled(error)) {
      throw new CancelledError('The archive export');
    }
    throw isCancelled(error) ? new CancelledError('The archive export') : destinationError(error, archive, 'archive');
  } finally {
    releaseWork(temp.path);
  }
  const permissionsWarning = ownerOnlyWarning('archive', archive);
  return {
    archive,
    backup,
    files: files.length,
    bytes: progress.bytesTotal,
    archiveBytes: (await fs.stat(archive)).size,
    durationMs: Date.now() - started,
    swept,
    ...(permissionsWarning && { permissionsWarning }),
  };
}

async function checkExport(backup: string, archive: string, replace: boolean): Promise<void> {
  const reason = await whyNotAnEnvironment(backup);
  if (reason) {
    throw new TracBackupError(
      'NOT_AN_ENVIRONMENT',
      `${backup} is not a backup: ${reason}. Choose a backup folder (it holds VERSION and conf/trac.ini).`,
      backup,
    );
  }
  if (isInside(await realpathAllowingMissing(archive), await fs.realpath(backup))) {
    throw new TracBackupError(
      'DESTINATION_INSIDE_SOURCE',
      `Can't write the archive ${archive} inside the backup it archives (${backup}): choose a place outside that folder.`,
      archive,
    );
  }
  if (!replace && (await pathExists(archive))) {
    throw existingArchiveError(archive);
  }
}

/**
 * A restore from the archive refuses a link that leads outside it (see checkLinksStayInside):
 * found out here, not on the day of the restore.
 */
async function refuseLinksLeaving(backup: string, entries: TreeEntry[]): Promise<void> {
  const links = entries.filter((entry) => entry.kind === 'symlink').map((entry) => entry.relative);
  const leaving = await findLinkLeaving(backup, links);
  if (leaving) {
    throw new TracBackupError(
      'ARCHIVE_UNSAFE',
      `Can't archive ${backup}: its entry '${leaving.relative}' is a symbolic link to '${leaving.target}', which leads ` +
        'outside the backup, and a restore from the archive would refuse it. Replace the link by what it points to ' +
        '(in the environment, then make a new backup), or keep the backup folder (or use tar yourself) to carry it.',
      backup,
    );
  }
}

/**
 * A live environment would be archived torn: refused when SQLite side files are beside its
 * database (a WAL database in use, a transaction under way) or Trac is using it. Only looked at,
 * never opened: a backup must not change.
 */
async function refuseLiveEnvironment(folder: string): Promise<void> {
  const found = await readEnvironment(folder);
  const database = found.database?.kind === 'sqlite' ? found.database.file : undefined;
  const what = `make a backup with trac-backup hotcopy and archive that`;
  for (const side of database ? sqliteSideFiles(database) : []) {
    if (await pathExists(side)) {
      throw new TracBackupError(
        'TRAC_RUNNING',
        `Can't archive ${folder}: ${side} is beside its database, so SQLite is (or was, until it stopped) writing to it: ` +
          `a live environment would be archived torn; ${what}.`,
        folder,
      );
    }
  }
  const live = await detectLiveTrac(folder, { databaseFile: database, tryLock: false });
  if (live.running) {
    throw new TracBackupError(
      'TRAC_RUNNING',
      `Can't archive ${folder}: ${live.summary} A live environment would be archived torn; ${what}.`,
      folder,
    );
  }
}

/** The modes the metadata records (the environment's), by relative path; empty without metadata. */
async function sourceModes(backup: string): Promise<Map<string, number>> {
  let manifest: BackupManifest | undefined;
  try {
    manifest = await readManifest(backup);
  } catch {
    return new Map(); // unreadable metadata: the modes on disk are all there is
  }
  const modes = new Map<string, number>();
  for (const entry of manifest?.entries ?? []) {
    if (entry.type !== 'symlink') {
      modes.set(entry.path, entry.mode & 0o7777);
    }
  }
  return modes;
}

function existingArchiveError(archive: string): TracBackupError {
  return new TracBackupError(
    'DESTINATION_EXISTS',
    `Can't overwrite existing '${archive}': choose a new file name, or delete that file first.`,
    archive,
  );
}

/** The archive's hidden sibling to write into, with the parent folders made for it (removed on failure). */
async function createTemporaryFile(archive: string): Promise<{ path: string; stream: NodeJS.WritableStream; madeParents?: MadeFolders }> {
  const parent = path.dirname(archive);
  const madeParents = await makeFolders(parent, 'archive');
  const temp = workPathFor(archive, 'archive');
  let handle;
  try {
    handle = await fs.open(temp, 'wx', 0o600);
  } catch (error) {
    releaseWork(temp);
    await removeMadeFolders(madeParents);
    throw destinationError(error, parent, 'archive');
  }
  return { path: temp, stream: handle.createWriteStream(), madeParents };
}

async function flushToDisk(file: string): Promise<void> {
  const handle = await fs.open(file, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Puts the finished file at its name. A hard link fails if anything appeared there meanwhile
 * (where rename would replace it); on file systems without hard links (FAT, some network
 * shares), the check and the rename are two steps.
 */
async function publishFile(temp: string, archive: string): Promise<void> {
  try {
    await fs.link(temp, archive);
  } catch (error) {
    if (errnoCode(error) === 'EEXIST') {
      throw existingArchiveError(archive);
    }
    // EISDIR: exFAT and FAT32 (USB disks on Windows), as libuv reports their missing hard links.
    if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK', 'EXDEV', 'EISDIR'].includes(errnoCode(error) ?? '')) {
      throw error;
    }
    if (await pathExists(archive)) {
      throw existingArchiveError(archive);
    }
    await fs.rename(temp, archive);
    return;
  }
  await fs.rm(temp, { force: true }).catch(() => undefined);
}
