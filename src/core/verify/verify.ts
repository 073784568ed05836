import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { AttachmentRow, attachmentRelativePath, describeAttachmentRow } from '../trac/attachments';
import { DatabaseCheck, DatabaseCheckKind } from '../sqlite/databaseCheck';
import { checkDatabaseOffThread } from '../sqlite/databaseCheckThread';
import { DEFAULT_DATABASE_URL, parseDatabaseUrl } from '../trac/databaseUrl';
import { VERSION_PREFIX, whyNotAnEnvironment } from '../trac/environment';
import { checkExternalDatabase } from './externalDatabaseCheck';
import { CancelledError, describeError, errnoCode, throwIfAborted } from '../shared/errors';
import { hashFile } from '../fs/fileCopy';
import { unchangedSinceVerified } from '../catalog/verificationStore';
import { TreeEntry, walkTree } from '../fs/fileTree';
import { sealedBefore } from '../catalog/backupSeal';
import { BackupManifest, MANIFEST_FILE, readManifest } from '../catalog/manifest';
import { PathProblem, compareWithManifest } from './compareWithManifest';
import { isSafeRelative } from '../fs/paths';
import { runPool } from '../shared/pool';
import { readTracConfig } from '../trac/tracIni';
import { Progress } from '../shared/progress';
import { verifyServerDump } from './serverDumpVerify';

export type { PathProblem } from './compareWithManifest';

/** scan: the folder and its metadata; database: SQLite's check; files: sizes and checksums. */
export type VerifyPhase = 'scan' | 'database' | 'files';

export type VerifyProgress = Progress<VerifyPhase>;

export interface VerifyOptions {
  /** true (default): PRAGMA integrity_check; false: the faster quick_check, as restore uses. */
  full?: boolean;
  /**
   * A PostgreSQL or MySQL/MariaDB backup's dump is also restored into a scratch database on the
   * server its trac.ini names (dropped afterwards): Trac's tables, database_version, attachments.
   */
  deep?: boolean;
  signal?: AbortSignal;
  onProgress?: (event: VerifyProgress) => void;
  /**
   * When a verification of this backup that passed began (ISO 8601; see verificationStore.ts):
   * files unchanged since (their ctime, and the metadata's, older) are compared by size, not read
   * again. Everything else is checked as always, the database included. A restore passes it: its
   * copy then reads each file once, and compares what it wrote with the metadata.
   */
  trustedSince?: string;
  /**
   * Files unchanged since the backup's seal (see catalog/backupSeal.ts: their ctime older than the
   * metadata file's, written once every file was in place with the SHA-256 of the bytes copied)
   * are compared by size too. A restore passes it; a verification asked for never does.
   */
  trustSeal?: boolean;
}

export interface VerifyResult {
  /** True when there is no problem. */
  ok: boolean;
  /** Absolute path of the backup. */
  backup: string;
  /** 'hotcopy': has this tool's metadata; 'trac-admin': a plain copy of an environment, without it. */
  kind: 'hotcopy' | 'trac-admin';
  /** Every problem found, each with its path relative to the backup ('.' for the folder itself). */
  problems: PathProblem[];
  /**
   * Set when the backup was deleted or moved (or replaced by another folder) while it was being
   * checked: then its one problem says so, instead of a "missing" for every file it had.
   */
  vanished?: true;
  /** Regular files whose size and checksum (without metadata: readability) were checked. */
  checkedFiles: number;
  checkedBytes: number;
  database: {
    /** Relative to the backup; null when the backup holds no database to check. */
    path: string | null;
    /** 'dump': a server database's dump was read without a server; 'restored': and restored into a scratch database (--deep). */
    check: DatabaseCheckKind | 'skipped' | 'dump' | 'restored';
    /** Trac's database_version, when the check could read it. */
    version?: string;
    /** Why there is no database to check, when there is none. */
    note?: string;
  };
  /** What was not checked, and why (no metadata, a --no-database backup, …). */
  notes: string[];
  /** When the backup was made, from its metadata. */
  createdAt?: string;
  /** When the check began (ISO 8601): what it passed was so then (see verificationStore.ts). */
  startedAt: string;
  /** Files compared by size only, as unchanged since the verification `trustedSince` names. */
  trustedFiles?: number;
  durationMs: number;
}

/**
 * Checks a backup without changing it: that it is a Trac environment (VERSION, conf/trac.ini), that
 * its SQLite database passes SQLite's check and each of its attachment rows has its file under
 * files/attachments, and, when it has this tool's metadata, that every file
 * has the size and SHA-256 recorded there, with nothing missing and nothing added. A folder without
 * metadata (what `trac-admin hotcopy` makes) gets the checks that need none. Never throws for a
 * damaged backup: every problem found is in the result. A backup deleted or moved while it is
 * checked gets one problem that says so (and `vanished`). Throws CancelledError when aborted.
 */
export async function verifyBackup(backupPath: string, options: VerifyOptions = {}): Promise<VerifyResult> {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const { signal } = options;
  const backup = path.resolve(backupPath);
  const check: DatabaseCheckKind = options.full === false ? 'quick_check' : 'integrity_check';
  const problems: PathProblem[] = [];
  const notes: string[] = [];
  const progress: VerifyProgress = { phase: 'scan', filesDone: 0, filesTotal: 0, bytesDone: 0, bytesTotal: 0 };
  const emit = (update: Partial<VerifyProgress>) => {
    Object.assign(progress, update);
    options.onProgress?.({ ...progress });
  };
  const result = (manifest: BackupManifest | undefined, extra: Partial<VerifyResult> = {}): VerifyResult => ({
    ok: problems.length === 0,
    backup,
    kind: manifest === undefined && !problems.some((problem) => problem.path === MANIFEST_FILE) ? 'trac-admin' : 'hotcopy',
    problems,
    checkedFiles: 0,
    checkedBytes: 0,
    database: { path: null, check: 'skipped' },
    notes,
    createdAt: manifest?.createdAt,
    startedAt,
    ...extra,
    durationMs: Math.round(performance.now() - started),
  });

  throwIfAborted(signal, 'The verification');
  emit({ phase: 'scan' });
  const root = await inspectRoot(backup);
  if (typeof root === 'string') {
    problems.push({ path: '.', problem: root });
    return result(undefined);
  }
  let manifest: BackupManifest | undefined;
  try {
    manifest = await readManifest(backup);
  } catch (error) {
    problems.push({ path: MANIFEST_FILE, problem: describeError(error) });
  }
  // Someone else (another window, the CLI, a person) may delete or move the backup meanwhile:
  // then every file it had would be "missing". One problem says what happened instead.
  const finish = async (extra: Partial<VerifyResult> = {}): Promise<VerifyResult> => {
    if (!(await goneSinceStart(backup, root, manifest !== undefined))) {
      return result(manifest, extra);
    }
    problems.splice(0, problems.length, { path: '.', problem: VANISHED });
    notes.splice(0, notes.length);
    return result(manifest, { vanished: true });
  };
  if (!manifest) {
    // A folder that is neither this tool's backup nor an environment: said in one line, unread.
    const notAnEnvironment = problems.length === 0 ? await whyNotAnEnvironment(backup) : undefined;
    if (notAnEnvironment) {
      problems.push({ path: '.', problem: `is not a Trac backup or environment: ${notAnEnvironment}` });
      return result(undefined);
    }
    notes.push('No metadata: file sizes and checksums were not checked, only that every file can be read.');
  }
  const databaseUrl = await checkEnvironmentFiles(backup, problems);
  const { path: databasePath, note: databaseNote } = locateDatabase(backup, manifest, databaseUrl, problems);
  if (databaseNote) {
    notes.push(databaseNote);
  }
  const external = checkExternalDatabase(manifest, backup, databaseUrl);
  problems.push(...external.problems);
  if (external.note) {
    notes.push(external.note);
  }
  // The database's check (on a thread of its own) goes on while the tree is walked.
  const databaseChecked = databasePath ? checkDatabaseAt(backup, databasePath, check, signal) : undefined;
  void databaseChecked?.catch(() => undefined); // handled: its failure is thrown where it is awaited
  let entries: TreeEntry[];
  try {
    entries = await walkTree(backup, { signal, exclude: (relative) => relative === MANIFEST_FILE });
  } catch (error) {
    await databaseChecked?.catch(() => undefined);
    rethrowIfCancelled(error, signal);
    const file = (error as NodeJS.ErrnoException).path;
    if (!errnoCode(error) || !file) {
      throw error;
    }
    problems.push({ path: path.relative(backup, file).split(path.sep).join('/') || '.', problem: `cannot be read (${errnoCode(error)})` });
    return finish();
  }
  const files = entries.filter((entry) => entry.kind === 'file');
  emit({ filesTotal: files.length, bytesTotal: files.reduce((sum, entry) => sum + entry.size, 0) });

  let version: string | undefined;
  let serverDumpPath: string | undefined;
  const serverDump = databasePath ? undefined : await verifyServerDump(backup, manifest, options.deep === true);
  if (serverDump) {
    emit({ phase: 'database', path: serverDump.path });
    serverDumpPath = serverDump.path;
    problems.push(...serverDump.problems.map((problem) => ({ path: serverDump.path, problem })));
    version = serverDump.version;
    if (serverDump.note) notes.push(serverDump.note);
    // The note that the database is not in the backup is not so for a server dump.
    const at = notes.indexOf(databaseNote ?? '');
    if (at >= 0) notes.splice(at, 1);
    if (serverDump.attachments) {
      problems.push(
        ...attachmentsWithoutFiles(
          serverDump.attachments.map((row) => ({ ...row, size: 0 })),
          entries,
          serverDump.path,
          problems,
        ),
      );
    }
  }
  if (databasePath && databaseChecked) {
    emit({ phase: 'database', path: databasePath });
    const found = await databaseChecked;
    problems.push(...found.problems.map((problem) => ({ path: databasePath, problem })));
    version = found.version;
    if (found.attachmentsError) {
      notes.push(`The attachment rows could not be read (${found.attachmentsError}): attachment files were not checked against them.`);
    }
    problems.push(...attachmentsWithoutFiles(found.attachments ?? [], entries, databasePath, problems));
  }
  throwIfAborted(signal, 'The verification');

  emit({ phase: 'files', path: undefined });
  const onFile = (relative: string, bytes: number) =>
    emit({ filesDone: progress.filesDone + 1, bytesDone: progress.bytesDone + bytes, path: relative });
  let checked = { checkedFiles: 0, checkedBytes: 0 };
  try {
    if (manifest) {
      const unchanged = await trustedUnchanged(backup, manifest, options);
      let trustedFiles = 0;
      const comparison = await compareWithManifest(entries, manifest.entries, {
        signal,
        onFile,
        unchanged:
          unchanged &&
          ((entry) => {
            const trusted = unchanged(entry);
            trustedFiles += trusted ? 1 : 0;
            return trusted;
          }),
      });
      problems.push(...comparison.problems);
      checked = { checkedFiles: comparison.checkedFiles, checkedBytes: comparison.checkedBytes, ...(unchanged && { trustedFiles }) };
    } else if (options.full !== false) {
      checked = await checkReadable(files, problems, signal, onFile);
    }
  } catch (error) {
    rethrowIfCancelled(error, signal);
    throw error;
  }
  return finish({
    ...checked,
    database: serverDumpPath
      ? { path: serverDumpPath, check: options.deep ? 'restored' : 'dump', version }
      : { path: databasePath ?? null, check: databasePath ? check : 'skipped', version, note: databaseNote },
  });
}

const VANISHED = 'was deleted or moved while it was being checked';

/**
 * Which files a verification begun at `trustedSince` vouches for: those unchanged since, provided
 * the metadata itself is (looked at after it was read: a change before or since shows). Undefined
 * when nothing is vouched for.
 */
async function trustedUnchanged(
  backup: string,
  manifest: BackupManifest,
  options: Pick<VerifyOptions, 'trustedSince' | 'trustSeal'>,
): Promise<((entry: TreeEntry) => boolean) | undefined> {
  const sealed = options.trustSeal ? await sealedBefore(backup, manifest) : undefined;
  const verified = await verifiedSince(backup, options.trustedSince);
  if (sealed === undefined && verified === undefined) {
    return undefined;
  }
  return (entry) =>
    (sealed !== undefined && entry.ctimeMs < sealed) || (verified !== undefined && unchangedSinceVerified(entry.ctimeMs, verified));
}

/** When the verification `trustedSince` names began (ms), provided the metadata is unchanged since. */
async function verifiedSince(backup: string, trustedSince: string | undefined): Promise<number | undefined> {
  const since = trustedSince === undefined ? NaN : Date.parse(trustedSince);
  if (Number.isNaN(since)) {
    return undefined;
  }
  const metadata = await fs.lstat(path.join(backup, MANIFEST_FILE)).catch(() => undefined);
  return metadata && unchangedSinceVerified(metadata.ctimeMs, since) ? since : undefined;
}

/** The folder's identity (device and inode) as the check begins, or why it cannot be checked. */
async function inspectRoot(dir: string): Promise<{ dev: number; ino: number } | string> {
  try {
    const stats = await fs.stat(dir);
    return stats.isDirectory() ? { dev: stats.dev, ino: stats.ino } : 'is not a folder';
  } catch (error) {
    return errnoCode(error) === 'ENOENT' ? 'the folder does not exist' : `cannot be read (${errnoCode(error) ?? describeError(error)})`;
  }
}

/**
 * True when the folder checked is no longer at its path: gone, another folder there now (a
 * delete renames first, a move is a rename), or its metadata gone (a delete in place under way).
 */
async function goneSinceStart(dir: string, identity: { dev: number; ino: number }, hadManifest: boolean): Promise<boolean> {
  const now = await fs.stat(dir).catch(() => undefined);
  if (!now || now.dev !== identity.dev || now.ino !== identity.ino) {
    return true;
  }
  return (
    hadManifest &&
    !(await fs.lstat(path.join(dir, MANIFEST_FILE)).then(
      () => true,
      () => false,
    ))
  );
}

/** VERSION and conf/trac.ini; returns `[trac] database` when trac.ini could be read. */
async function checkEnvironmentFiles(backup: string, problems: PathProblem[]): Promise<string | undefined> {
  try {
    const version = await fs.readFile(path.join(backup, 'VERSION'), 'utf8');
    if (!version.startsWith(VERSION_PREFIX)) {
      problems.push({ path: 'VERSION', problem: `does not start with "${VERSION_PREFIX}": not a Trac environment` });
    }
  } catch (error) {
    problems.push({ path: 'VERSION', problem: missingOrUnreadable(error, 'a Trac environment has one') });
  }
  const ini = path.join(backup, 'conf', 'trac.ini');
  try {
    await fs.access(ini);
  } catch (error) {
    problems.push({ path: 'conf/trac.ini', problem: missingOrUnreadable(error, 'a Trac environment has one') });
    return undefined;
  }
  try {
    const config = await readTracConfig(ini);
    return config.get('trac', 'database') || DEFAULT_DATABASE_URL;
  } catch (error) {
    problems.push({ path: 'conf/trac.ini', problem: `cannot be read: ${describeError(error)}` });
    return undefined;
  }
}

/** Where the database is in the backup (relative), or why there is none to check. */
function locateDatabase(
  backup: string,
  manifest: BackupManifest | undefined,
  url: string | undefined,
  problems: PathProblem[],
): { path?: string; note?: string } {
  const notInBackup = (display: string) => ({
    note: `The database (${display}) is not in the backup: back it up and restore it with its own tools.`,
  });
  if (manifest) {
    const { database } = manifest;
    if (database.kind !== 'sqlite') {
      return notInBackup(database.url);
    }
    if (!database.included) {
      return { note: 'The backup was made without its database (--no-database).' };
    }
    if (database.path !== undefined) {
      if (!isSafeRelative(database.path)) {
        problems.push({ path: MANIFEST_FILE, problem: `names a database outside the backup (${database.path})` });
        return {};
      }
      return { path: database.path };
    }
  }
  if (url === undefined) {
    return {};
  }
  let location;
  try {
    location = parseDatabaseUrl(url, backup);
  } catch (error) {
    problems.push({ path: 'conf/trac.ini', problem: `[trac] database: ${describeError(error)}` });
    return {};
  }
  if (location.kind !== 'sqlite') {
    return notInBackup(location.display);
  }
  if (location.external) {
    return { note: `The database is outside the backup (${location.file}): it is not part of it and was not checked.` };
  }
  return { path: path.relative(backup, location.file).split(path.sep).join('/') };
}

async function checkDatabaseAt(
  backup: string,
  relative: string,
  check: DatabaseCheckKind,
  signal: AbortSignal | undefined,
): Promise<Partial<DatabaseCheck> & { problems: string[] }> {
  const file = path.join(backup, ...relative.split('/'));
  try {
    const stats = await fs.lstat(file);
    if (stats.isSymbolicLink()) {
      return { problems: ['is a symbolic link: a backup holds its database itself'] };
    }
    if (!stats.isFile()) {
      return { problems: ['is not a file'] };
    }
  } catch (error) {
    return { problems: [missingOrUnreadable(error, 'the backup has no database; its trac.ini names this file')] };
  }
  return checkDatabaseOffThread(file, check, { withAttachments: true, signal, what: 'The verification' });
}

/**
 * Every `attachment` row of the backup's database must have its file where Trac reads it, under
 * files/attachments: a row without one is an attachment the backup lost (a files/ folder that was
 * a link, a file gone). Paths that already have a problem are not named twice.
 */
function attachmentsWithoutFiles(rows: AttachmentRow[], entries: TreeEntry[], databasePath: string, known: PathProblem[]): PathProblem[] {
  const present = new Set(entries.filter((entry) => entry.kind !== 'directory').map((entry) => entry.relative));
  const named = new Set(known.map((problem) => problem.path));
  const found: PathProblem[] = [];
  for (const row of rows) {
    const expected = attachmentRelativePath(String(row.type), String(row.id), String(row.filename));
    if (!isSafeRelative(expected)) {
      found.push({
        path: databasePath,
        problem: `the attachment row ${describeAttachmentRow(row)} names a file outside the backup (${expected})`,
      });
    } else if (!present.has(expected) && !named.has(expected)) {
      found.push({ path: expected, problem: `missing: the attachment row ${describeAttachmentRow(row)} of the database names this file` });
    }
  }
  return found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Without metadata: every file can be read to its end. */
async function checkReadable(
  files: TreeEntry[],
  problems: PathProblem[],
  signal: AbortSignal | undefined,
  onFile: (relative: string, bytes: number) => void,
): Promise<{ checkedFiles: number; checkedBytes: number }> {
  let checkedFiles = 0;
  let checkedBytes = 0;
  const unreadable: PathProblem[] = [];
  await runPool(files, 4, async (entry) => {
    try {
      await hashFile(entry.absolute, signal);
    } catch (error) {
      rethrowIfCancelled(error, signal);
      unreadable.push({ path: entry.relative, problem: `cannot be read (${describeError(error)})` });
      return;
    }
    checkedFiles += 1;
    checkedBytes += entry.size;
    onFile(entry.relative, entry.size);
  });
  problems.push(...unreadable.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)));
  return { checkedFiles, checkedBytes };
}

function missingOrUnreadable(error: unknown, whyNeeded: string): string {
  return errnoCode(error) === 'ENOENT' ? `missing (${whyNeeded})` : `cannot be read (${errnoCode(error) ?? describeError(error)})`;
}

function rethrowIfCancelled(error: unknown, signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw error instanceof CancelledError ? error : new CancelledError('The verification');
  }
}
