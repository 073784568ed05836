import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { checkDatabaseFile } from './databaseCheck';
import { whyNotAnEnvironment } from './environment';
import { TracBackupError } from './errors';
import { copyFileHashed, hashFile } from './fileCopy';
import { utimesSeconds } from './fileTimes';
import { walkTree } from './fileTree';
import { BackupManifest, MANIFEST_FILE } from './manifest';
import { compareWithManifest } from './manifestCheck';
import { ProgressTracker } from './progress';
import { ExternalDatabase } from './restoreTarget';
import { setIniOption } from './tracIni';
import { TreeMirror } from './treeMirror';

/** Where a restore builds its copies before the swap. */
export interface RestoreCopy {
  backup: string;
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
  tracker: ProgressTracker,
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
    matchManifest(backup, manifest, mirror, external?.storedAt);
    await putBackModes(copy.temp, manifest, mirror);
  }
  let bytes = [...mirror.records.values()].reduce((sum, record) => sum + (record.kind === 'file' ? record.size : 0), 0);
  let files = [...mirror.records.values()].filter((record) => record.kind === 'file').length;
  if (external) {
    tracker.expect(1, 0);
    const copied = await copyFileHashed(path.join(backup, ...external.storedAt.split('/')), external.temp, {
      destination: external.file,
      keepOwner: copy.keepOwners,
      signal,
      onBytes: (count) => tracker.advance(count, external.storedAt),
    });
    if (!copied || (external.sha256 && copied.sha256 !== external.sha256)) {
      throw changedDuringRestore(backup, external.storedAt);
    }
    const recorded = manifest?.entries.find((entry) => entry.path === external.storedAt);
    if (recorded?.type === 'file') {
      await fs.chmod(external.temp, recorded.mode);
    }
    tracker.fileDone(external.storedAt);
    files += 1;
    bytes += copied.bytes;
    if (external.config) {
      await putBackDatabaseSetting(copy.temp, external.config, mirror);
    }
  }
  const rootStats = await fs.stat(backup);
  const madeFolders = await makeInitenvFolders(copy.temp, mirror, copy.keepOwners ? rootStats : undefined);
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

/** Makes those the copy lacks, as initenv would (mode 0755), recorded for the check; returns them. */
async function makeInitenvFolders(temp: string, mirror: TreeMirror, owner: { uid: number; gid: number } | undefined): Promise<string[]> {
  const made: string[] = [];
  for (const name of INITENV_FOLDERS.filter((folder) => !mirror.records.has(folder))) {
    const folder = path.join(temp, name);
    await fs.mkdir(folder, { mode: 0o755 });
    if (owner) {
      await fs.chown(folder, owner.uid, owner.gid);
    }
    const stats = await fs.stat(folder);
    mirror.records.set(name, {
      kind: 'directory',
      mode: 0o755,
      size: 0,
      atimeMs: stats.atimeMs,
      mtimeMs: stats.mtimeMs,
      ctimeMs: stats.ctimeMs,
      ino: stats.ino,
    });
    made.push(name);
  }
  return made;
}

/**
 * Checks the finished copy before it replaces anything: every file read back matches what was
 * copied, nothing more is there, it is a Trac environment, and its database passes quick_check.
 */
export async function checkCopy(copy: RestoreCopy, mirror: TreeMirror, tracker: ProgressTracker, signal?: AbortSignal): Promise<void> {
  const expected = mirror.manifestEntries();
  const files = expected.filter((entry) => entry.type === 'file');
  tracker.expect(files.length, files.reduce((sum, entry) => sum + (entry.type === 'file' ? entry.size : 0), 0));
  const onDisk = await walkTree(copy.temp, { signal });
  const comparison = await compareWithManifest(onDisk, expected, {
    signal,
    onFile: (relative, bytes) => {
      tracker.advance(bytes, relative);
      tracker.fileDone(relative);
    },
  });
  const problems = comparison.problems.map((problem) => `${problem.path} ${problem.problem}`);
  const notEnvironment = await whyNotAnEnvironment(copy.temp);
  if (notEnvironment) {
    problems.push(`it is not a Trac environment: ${notEnvironment}`);
  }
  const databases = [
    ...(copy.databasePath ? [path.join(copy.temp, ...copy.databasePath.split('/'))] : []),
    ...(copy.external ? [copy.external.temp] : []),
  ];
  for (const file of databases) {
    problems.push(...checkDatabaseFile(file, 'quick_check').problems.map((problem) => `the database ${problem}`));
  }
  if (problems.length > 0) {
    throw new TracBackupError(
      'RESTORE_FAILED',
      `The copy of ${copy.backup} made for the restore does not check out (${problems.slice(0, 3).join('; ')}): ` +
        `it was removed and ${copy.environment} was not changed. Check the disk, then try again.`,
      copy.environment,
    );
  }
}

/** Every file copied is in the metadata with the checksum of what was read, and none is missing. */
function matchManifest(backup: string, manifest: BackupManifest, mirror: TreeMirror, externalStoredAt: string | undefined): void {
  const expected = new Map(
    manifest.entries.filter((entry) => entry.type === 'file' && entry.path !== externalStoredAt).map((entry) => [entry.path, entry]),
  );
  for (const [relative, record] of mirror.records) {
    const entry = expected.get(relative);
    if (record.kind === 'file' && (!entry || entry.type !== 'file' || (entry.sha256 && entry.sha256 !== record.sha256))) {
      throw changedDuringRestore(backup, relative);
    }
    expected.delete(relative);
  }
  const [missing] = expected.keys();
  if (missing !== undefined) {
    throw changedDuringRestore(backup, missing);
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

async function putBackDatabaseSetting(temp: string, config: NonNullable<ExternalDatabase['config']>, mirror: TreeMirror): Promise<void> {
  const file = path.join(temp, ...config.file.split('/'));
  const stats = await fs.stat(file);
  const text = await fs.readFile(file, 'utf8');
  await fs.chmod(file, 0o600);
  await fs.writeFile(file, setIniOption(text, 'trac', 'database', config.originalUrl));
  const mtimeMs = config.original?.mtimeMs ?? stats.mtimeMs;
  await fs.chmod(file, config.original?.mode ?? stats.mode & 0o7777);
  await fs.utimes(file, utimesSeconds(stats.atimeMs), utimesSeconds(mtimeMs));
  const written = await fs.stat(file);
  mirror.addFile(config.file, {
    mode: written.mode & 0o7777,
    size: written.size,
    atimeMs: written.atimeMs,
    mtimeMs: written.mtimeMs,
    ctimeMs: written.ctimeMs,
    ino: written.ino,
    sha256: await hashFile(file),
  });
}

function changedDuringRestore(backup: string, relative: string): TracBackupError {
  return new TracBackupError(
    'BACKUP_DAMAGED',
    `${path.join(backup, relative)} changed while it was being restored (it no longer matches the backup's metadata): ` +
      'nothing was changed. Leave the backup alone while restoring, verify it, then try again.',
    path.join(backup, relative),
  );
}
