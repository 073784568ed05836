import type { Stats } from 'node:fs';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { DatabaseCheckThread, checkDatabaseOffThread } from '../sqlite/databaseCheckThread';
import { whyNotAnEnvironment } from '../trac/environment';
import { TracBackupError, errnoCode, throwIfAborted } from '../shared/errors';
import { ExternalDatabase } from '../catalog/externalDatabase';
import { CopiedFile, copyFileHashed, hashFile } from '../fs/fileCopy';
import { utimesSeconds } from '../fs/fileTimes';
import { pathExists, walkTree } from '../fs/fileTree';
import { destinationError } from '../fs/fsErrors';
import { BackupManifest, MANIFEST_FILE, ManifestEntry } from '../catalog/manifest';
import { compareWithManifest } from '../verify/compareWithManifest';
import { ProgressCounter } from '../shared/progress';
import { setIniOption } from '../trac/tracIni';
import { TreeMirror } from '../fs/treeMirror';

/** Where a restore builds its copies before the swap. */
export interface RestoreCopy {
  backup: string;
  /** The archive the backup was unpacked from: what messages name instead of the unpacked folder. */
  archive?: string;
  manifest?: BackupManifest;
  /** The environment path, for messages. */
  environment: string;
  /** The temporary folder the environment is built in. */
  temp: string;
  /** The database inside the environment, relative, to check in the copy. */
  databasePath?: string;
  external?: ExternalDatabase & { temp: string };
  /** Give the copies the owners they have in the backup. */
  keepOwners?: boolean;
}

/**
 * Copies the backup into the temporary folder: every file, folder and link (links as links,
 * never followed), with times, and with the modes the metadata records; the metadata file is
 * left out. Each file is hashed as it is read and compared with the metadata, so a backup that
 * changed since it was checked is caught. An external database goes to its own temporary file,
 * and trac.ini gets its original `[trac] database` back. Returns the regular files and bytes written.
 */
export async function copyBackup(
  copy: RestoreCopy,
  tracker: ProgressCounter,
  signal?: AbortSignal,
): Promise<{ mirror: TreeMirror; files: number; bytes: number; madeFolders: string[] }> {
  const { backup, external, manifest } = copy;
  const entries = await walkTree(backup, {
    signal,
    exclude: (relative) => relative === MANIFEST_FILE || relative === external?.storedAt,
  });
  const mirror = new TreeMirror(copy.temp, { destination: copy.environment, progress: tracker, signal, keepOwners: copy.keepOwners });
  await mirror.sync(entries);
  if (manifest) {
    matchManifest(copy, manifest, mirror, external?.storedAt);
    await putBackModes(copy.temp, manifest, mirror);
  }
  let bytes = [...mirror.records.values()].reduce((sum, record) => sum + (record.kind === 'file' ? record.size : 0), 0);
  let files = [...mirror.records.values()].filter((record) => record.kind === 'file').length;
  if (external) {
    tracker.expect(1, 0);
    const copied = await copyExternalDatabase(copy, external, path.join(backup, ...external.storedAt.split('/')), tracker, signal);
    const recorded = manifest?.entries.find((entry) => entry.path === external.storedAt);
    if (recorded?.type === 'file') {
      await fs.chmod(external.temp, recorded.mode);
    }
    tracker.fileDone(external.storedAt);
    files += 1;
    bytes += copied.bytes;
    if (external.config) {
      const { relative, record } = await putBackDatabaseSetting(copy.temp, external.config);
      mirror.addFile(relative, record);
    }
  }
  const rootStats = await fs.stat(backup);
  const madeFolders = await makeInitenvFolders(copy.temp, (name) => mirror.records.has(name), copy.keepOwners ? rootStats : undefined);
  for (const name of madeFolders) {
    const stats = await fs.stat(path.join(copy.temp, name));
    mirror.records.set(name, {
      kind: 'directory',
      mode: 0o755,
      size: 0,
      atimeMs: stats.atimeMs,
      mtimeMs: stats.mtimeMs,
      ctimeMs: stats.ctimeMs,
      ino: stats.ino,
    });
  }
  await mirror.applyFolderAttributes();
  if (copy.keepOwners) {
    await fs.chown(copy.temp, rootStats.uid, rootStats.gid);
  }
  await fs.chmod(copy.temp, rootStats.mode & 0o7777);
  await fs.utimes(copy.temp, utimesSeconds(rootStats.atimeMs), utimesSeconds(rootStats.mtimeMs));
  return { mirror, files, bytes, madeFolders };
}

/**
 * The folders `trac-admin initenv` makes in every environment (Trac's Environment.create), which
 * a backup can lack: tools that keep no empty folders (git, some archivers) drop an empty
 * htdocs/ or plugins/, and Trac logging to a file needs log/.
 */
export const INITENV_FOLDERS = ['htdocs', 'log', 'plugins', 'templates'];

/** Makes those the copy lacks (`has` says which it has), as initenv would (mode 0755); returns them. */
async function makeInitenvFolders(
  temp: string,
  has: (name: string) => boolean,
  owner: { uid: number; gid: number } | undefined,
): Promise<string[]> {
  const made: string[] = [];
  for (const name of INITENV_FOLDERS.filter((folder) => !has(folder))) {
    const folder = path.join(temp, name);
    await fs.mkdir(folder, { mode: 0o755 });
    await fs.chmod(folder, 0o755);
    if (owner) {
      await fs.chown(folder, owner.uid, owner.gid);
    }
    made.push(name);
  }
  return made;
}

/**
 * Checks the finished copy before it replaces anything: every file, folder and link the copy
 * made is there, of its size (links with their targets), nothing more is there, it is a Trac
 * environment, and its database passes quick_check. The files are not read again: their
 * checksums are those of the copies as written (see copyFileHashed), compared with the metadata
 * as they were made (matchManifest).
 */
/** `thread`: started beforehand (while the copy ran) for the first database's check. */
export async function checkCopy(
  copy: RestoreCopy,
  mirror: TreeMirror,
  tracker: ProgressCounter,
  signal?: AbortSignal,
  thread?: DatabaseCheckThread,
): Promise<void> {
  const expected = mirror.manifestEntries().map((entry) => (entry.type === 'file' ? { ...entry, sha256: '' } : entry));
  const files = expected.filter((entry) => entry.type === 'file');
  tracker.expect(
    files.length,
    files.reduce((sum, entry) => sum + (entry.type === 'file' ? entry.size : 0), 0),
  );
  const onDisk = await walkTree(copy.temp, { signal });
  const comparison = await compareWithManifest(onDisk, expected, { signal });
  for (const entry of files) {
    tracker.advance(entry.type === 'file' ? entry.size : 0, entry.path);
    tracker.fileDone(entry.path);
  }
  const problems = comparison.problems.map((problem) => `${problem.path} ${problem.problem}`);
  const notEnvironment = await whyNotAnEnvironment(copy.temp);
  if (notEnvironment) {
    problems.push(`it is not a Trac environment: ${notEnvironment}`);
  }
  const databases = [
    ...(copy.databasePath ? [path.join(copy.temp, ...copy.databasePath.split('/'))] : []),
    ...(copy.external ? [copy.external.temp] : []),
  ];
  for (const [index, file] of databases.entries()) {
    const options = { signal, what: 'The restore' };
    const check =
      index === 0 && thread ? await thread.check(file, 'quick_check', options) : await checkDatabaseOffThread(file, 'quick_check', options);
    problems.push(...check.problems.map((problem) => `the database ${problem}`));
  }
  if (problems.length > 0) {
    throw copyDoesNotCheckOut(copy, problems);
  }
}

/** What moveBackup did: the counts of a copy, and what the moved tree must hold now (undefined without metadata). */
export interface MovedBackup {
  files: number;
  bytes: number;
  madeFolders: string[];
  expected?: ManifestEntry[];
}

/**
 * Moves an unpacked backup (copy.backup, ours and checked) into the temporary folder instead of
 * copying it: one rename, so that a restore from an archive needs room for one copy of the backup,
 * not two. Then does there what copyBackup does to its copy: the metadata file goes, every file
 * gets the mode the metadata records, an external database restored to its own path moves out to
 * its temporary file and trac.ini gets its `[trac] database` back, initenv's folders are made,
 * and the folders changed get their times back. Returns undefined, having changed nothing, when
 * the rename cannot be done (another file system): the caller copies instead.
 */
export async function moveBackup(copy: RestoreCopy, tracker: ProgressCounter, signal?: AbortSignal): Promise<MovedBackup | undefined> {
  const { manifest, external, temp } = copy;
  throwIfAborted(signal, 'The restore');
  try {
    await fs.rename(copy.backup, temp);
  } catch (error) {
    if (errnoCode(error) === 'EXDEV') {
      return undefined;
    }
    throw destinationError(error, path.dirname(copy.environment));
  }
  const folders = new FolderTimes(temp);
  const root = await folders.note('');
  await fs.rm(path.join(temp, MANIFEST_FILE), { force: true });
  let expected = manifest?.entries.filter((entry) => entry.path !== external?.storedAt && entry.path !== MANIFEST_FILE);
  for (const entry of expected ?? []) {
    if (entry.type === 'file') {
      await fs.chmod(path.join(temp, ...entry.path.split('/')), entry.mode);
    }
  }
  let files = 0;
  let bytes = 0;
  if (external) {
    await folders.note(path.posix.dirname(external.storedAt));
    bytes += await moveExternalOut(copy, external, tracker, signal);
    files += 1;
    if (external.config) {
      const { relative, record } = await putBackDatabaseSetting(temp, external.config);
      expected = expected?.map((entry) => (entry.path === relative && entry.type === 'file' ? { ...entry, size: record.size } : entry));
    }
  }
  const present = new Set<string>();
  for (const name of INITENV_FOLDERS) {
    if (expected ? expected.some((entry) => entry.path === name) : await pathExists(path.join(temp, name))) {
      present.add(name);
    }
  }
  const madeFolders = await makeInitenvFolders(temp, (name) => present.has(name), copy.keepOwners ? root : undefined);
  expected = expected && [
    ...expected,
    ...madeFolders.map((name): ManifestEntry => ({ path: name, type: 'directory', mode: 0o755, mtimeMs: 0 })),
  ];
  await folders.putBack();
  const onDisk = (await walkTree(temp, { signal })).filter((entry) => entry.kind === 'file');
  files += onDisk.length;
  bytes += onDisk.reduce((sum, entry) => sum + entry.size, 0);
  tracker.expect(files, bytes);
  tracker.advance(bytes);
  return { files, bytes, madeFolders, expected };
}

/** Folders of a moved tree that are written into: opened to their owner meanwhile, then given back their modes and times. */
class FolderTimes {
  private readonly noted = new Map<string, Stats>();

  constructor(private readonly root: string) {}

  async note(relative: string): Promise<Stats> {
    const key = relative === '.' ? '' : relative;
    const folder = path.join(this.root, ...key.split('/').filter(Boolean));
    let stats = this.noted.get(key);
    if (!stats) {
      stats = await fs.lstat(folder);
      this.noted.set(key, stats);
      await fs.chmod(folder, (stats.mode & 0o7777) | 0o700);
    }
    return stats;
  }

  /** Deepest first, so that nothing changes a folder's time after it was set. */
  async putBack(): Promise<void> {
    for (const [relative, stats] of [...this.noted].sort(([a], [b]) => b.split('/').length - a.split('/').length || b.length - a.length)) {
      const folder = path.join(this.root, ...relative.split('/').filter(Boolean));
      await fs.chmod(folder, stats.mode & 0o7777);
      await fs.utimes(folder, utimesSeconds(stats.atimeMs), utimesSeconds(stats.mtimeMs));
    }
  }
}

/**
 * Checks a moved backup before it replaces anything: every entry the metadata lists is there, of
 * its kind and size (links with their targets), nothing more, and it is a Trac environment. Its
 * checksums and its database were checked where it was unpacked, on these very files.
 */
export async function checkMoved(copy: RestoreCopy, moved: MovedBackup, signal?: AbortSignal): Promise<void> {
  const problems: string[] = [];
  if (moved.expected) {
    const sizesOnly = moved.expected.map((entry) => (entry.type === 'file' ? { ...entry, sha256: '' } : entry));
    const comparison = await compareWithManifest(await walkTree(copy.temp, { signal }), sizesOnly, { signal });
    problems.push(...comparison.problems.map((problem) => `${problem.path} ${problem.problem}`));
  }
  const notEnvironment = await whyNotAnEnvironment(copy.temp);
  if (notEnvironment) {
    problems.push(`it is not a Trac environment: ${notEnvironment}`);
  }
  if (copy.external && !(await pathExists(copy.external.temp))) {
    problems.push(`the database ${copy.external.storedAt} is missing`);
  }
  if (problems.length > 0) {
    throw copyDoesNotCheckOut(copy, problems);
  }
}

/** Moves the snapshot of an external database to its temporary file beside its own path (copies it across file systems). */
async function moveExternalOut(
  copy: RestoreCopy,
  external: NonNullable<RestoreCopy['external']>,
  tracker: ProgressCounter,
  signal?: AbortSignal,
): Promise<number> {
  const stored = path.join(copy.temp, ...external.storedAt.split('/'));
  const recorded = copy.manifest?.entries.find((entry) => entry.path === external.storedAt);
  try {
    await fs.rename(stored, external.temp);
  } catch (error) {
    if (errnoCode(error) !== 'EXDEV') {
      throw destinationError(error, path.dirname(external.file));
    }
    await copyExternalDatabase(copy, external, stored, tracker, signal);
    await fs.rm(stored);
  }
  if (recorded?.type === 'file') {
    await fs.chmod(external.temp, recorded.mode);
  }
  return (await fs.stat(external.temp)).size;
}

function copyDoesNotCheckOut(copy: RestoreCopy, problems: string[]): TracBackupError {
  const what = copy.archive
    ? `The environment unpacked from the archive ${copy.archive}`
    : `The copy of ${copy.backup} made for the restore`;
  return new TracBackupError(
    'RESTORE_FAILED',
    `${what} does not check out (${problems.slice(0, 3).join('; ')}): ` +
      `it was removed and ${copy.environment} was not changed. Check the disk, then try again.`,
    copy.environment,
  );
}

/** Every file copied is in the metadata with the checksum of what was read, and none is missing. */
function matchManifest(copy: RestoreCopy, manifest: BackupManifest, mirror: TreeMirror, externalStoredAt: string | undefined): void {
  const expected = new Map(
    manifest.entries.filter((entry) => entry.type === 'file' && entry.path !== externalStoredAt).map((entry) => [entry.path, entry]),
  );
  for (const [relative, record] of mirror.records) {
    const entry = expected.get(relative);
    if (record.kind === 'file' && (!entry || entry.type !== 'file' || (entry.sha256 && entry.sha256 !== record.sha256))) {
      throw changedDuringRestore(copy, relative);
    }
    expected.delete(relative);
  }
  const [missing] = expected.keys();
  if (missing !== undefined) {
    throw changedDuringRestore(copy, missing);
  }
}

/**
 * Gives every file the mode the metadata records: the environment's. A backup keeps its files
 * read-only (later backups share them through hard links), which a restored Trac cannot work with.
 */
async function putBackModes(temp: string, manifest: BackupManifest, mirror: TreeMirror): Promise<void> {
  for (const entry of manifest.entries) {
    const record = mirror.records.get(entry.path);
    if (entry.type === 'file' && record?.kind === 'file' && record.mode !== entry.mode) {
      await fs.chmod(path.join(temp, ...entry.path.split('/')), entry.mode);
      record.mode = entry.mode;
    }
  }
}

/** Gives the copy's trac.ini its original `[trac] database` back; returns its record. */
async function putBackDatabaseSetting(temp: string, config: NonNullable<ExternalDatabase['config']>) {
  const file = path.join(temp, ...config.file.split('/'));
  const stats = await fs.stat(file);
  const text = await fs.readFile(file, 'utf8');
  await fs.chmod(file, 0o600);
  await fs.writeFile(file, setIniOption(text, 'trac', 'database', config.originalUrl));
  const mtimeMs = config.original?.mtimeMs ?? stats.mtimeMs;
  await fs.chmod(file, config.original?.mode ?? stats.mode & 0o7777);
  await fs.utimes(file, utimesSeconds(stats.atimeMs), utimesSeconds(mtimeMs));
  const written = await fs.stat(file);
  return {
    relative: config.file,
    record: {
      mode: written.mode & 0o7777,
      size: written.size,
      atimeMs: written.atimeMs,
      mtimeMs: written.mtimeMs,
      ctimeMs: written.ctimeMs,
      ino: written.ino,
      sha256: await hashFile(file),
    },
  };
}

function changedDuringRestore(copy: RestoreCopy, relative: string): TracBackupError {
  if (copy.archive) {
    return new TracBackupError(
      'ARCHIVE_DAMAGED',
      `'${relative}' unpacked from the archive ${copy.archive} no longer matches the backup's metadata: nothing was changed. ` +
        'Try again; if it happens again, make the archive again from the backup.',
      copy.archive,
    );
  }
  const file = path.join(copy.backup, relative);
  return new TracBackupError(
    'BACKUP_DAMAGED',
    `${file} changed while it was being restored (it no longer matches the backup's metadata): ` +
      'nothing was changed. Leave the backup alone while restoring, verify it, then try again.',
    file,
  );
}

/** Copies the backup's external database to its temporary file beside where it goes, checking it is what the metadata records. */
async function copyExternalDatabase(
  copy: RestoreCopy,
  external: NonNullable<RestoreCopy['external']>,
  from: string,
  tracker: ProgressCounter,
  signal: AbortSignal | undefined,
): Promise<CopiedFile> {
  const copied = await copyFileHashed(from, external.temp, {
    destination: external.file,
    keepOwner: copy.keepOwners,
    signal,
    onBytes: (count) => tracker.advance(count, external.storedAt),
  });
  if (!copied || (external.sha256 && copied.sha256 !== external.sha256)) {
    throw changedDuringRestore(copy, external.storedAt);
  }
  return copied;
}
