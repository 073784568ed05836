import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { probeDatabase, sqliteSideFiles, whenNotLockedInProcess } from '../sqlite/databaseSnapshot';
import { requireEnvironment } from '../trac/environment';
import { TracBackupError, errnoCode } from '../shared/errors';
import { DatabaseLocation, ServerDatabaseLocation, isServerLocation } from '../trac/databaseUrl';
import { TracConfig } from '../trac/tracIni';
import { dumpStoredAt } from '../serverDatabase/serverSession';
import { EntryKind, pathExists } from '../fs/fileTree';
import { MANIFEST_FILE, ManifestDatabase } from '../catalog/manifest';
import { readJournal } from '../work/restoreJournal';
import { journalPath, journalsInUseHere } from '../work/restoreJournal';
import { workOwnerRunning } from '../work/workOwner';
import { onDiskSpelling } from '../fs/paths';

/** What a hot backup needs to know about the environment it copies. */
export interface HotcopySource {
  /** Absolute path of the environment, as given (resolved). */
  root: string;
  /** The same through real paths, to compare with the destination. */
  realRoot: string;
  /** The real paths of the folders elsewhere that followed links lead to: copied as part of the source. */
  linkedFolders: string[];
  projectName: string;
  /** Leaves out the database, its side files and a metadata file a copied backup carries. */
  exclude: (relative: string, kind: EntryKind) => boolean;
  /** The environment's own folders, backed up as folders even when they are links (see followedFolders). */
  follow: (relative: string) => boolean;
  manifestDatabase: ManifestDatabase;
  /** A PostgreSQL or MySQL/MariaDB database whose dump goes into the backup (see serverDatabase/). */
  server?: { location: ServerDatabaseLocation; config?: TracConfig };
  /** Set when the database goes into the backup. */
  snapshot?: {
    file: string;
    /** Where the snapshot goes in the backup, relative, '/' separated. */
    storedAt: string;
    external: boolean;
    bytes: number;
  };
}

/** Where an environment's files and database are, read from its files alone. */
export interface SourceLayout {
  root: string;
  realRoot: string;
  projectName: string;
  database: DatabaseLocation;
  config?: TracConfig;
  /** The SQLite database's path relative to the environment, when it lies inside it. */
  databaseRelative?: string;
  /** Leaves out the database, its side files and a metadata file a copied backup carries. */
  exclude: (relative: string, kind: EntryKind) => boolean;
  /** The environment's own folders, backed up as folders even when they are links (see followedFolders). */
  follow: (relative: string) => boolean;
}

/**
 * The folders that hold the environment's data, wherever they point: a `db/` or `files/` that
 * is a link to another disk is common, and a backup holding only the link loses the data with
 * that disk. So conf/, db/, files/, files/attachments/ and the folders leading to the database
 * are backed up as folders with their content when they are links to folders; every other link
 * stays a link (it may point anywhere: a shared htdocs, a whole disk).
 */
function followedFolders(databaseRelative: string | undefined): (relative: string) => boolean {
  const followed = followedPaths(databaseRelative);
  return (relative) => followed.has(relative);
}

function followedPaths(databaseRelative: string | undefined): Set<string> {
  const followed = new Set(['conf', 'db', 'files', 'files/attachments']);
  const parts = databaseRelative?.split('/') ?? [];
  for (let depth = 1; depth < parts.length; depth++) {
    followed.add(parts.slice(0, depth).join('/'));
  }
  return followed;
}

/** The real paths of the followed folders that are links to folders elsewhere: part of the source too. */
async function linkedFolderTargets(root: string, databaseRelative: string | undefined): Promise<string[]> {
  const targets: string[] = [];
  for (const relative of followedPaths(databaseRelative)) {
    const file = path.join(root, ...relative.split('/'));
    const isLink = await fs.lstat(file).then(
      (stats) => stats.isSymbolicLink(),
      () => false,
    );
    const target = isLink ? await fs.realpath(file).catch(() => undefined) : undefined;
    if (
      target &&
      (await fs.stat(target).then(
        (stats) => stats.isDirectory(),
        () => false,
      ))
    ) {
      targets.push(target);
    }
  }
  return targets;
}

/**
 * Reads trac.ini for where the database is; never opens the database (a raw open and close of
 * it would drop the SQLite locks this process holds on it: see changedSinceBackup.ts).
 */
export async function sourceLayout(environmentPath: string): Promise<SourceLayout> {
  await refuseInterruptedRestore(path.resolve(environmentPath));
  const environment = await requireEnvironment(environmentPath);
  const root = environment.path;
  const database = environment.database;
  if (!environment.config || !database) {
    throw new TracBackupError(
      'CONFIG_UNREADABLE',
      `Can't back up ${root}: ${environment.problems.join(' ')}`,
      path.join(root, 'conf', 'trac.ini'),
    );
  }
  const realRoot = await fs.realpath(root);
  // As the folder spells it: on a case-insensitive volume trac.ini's db/Trac.db is the walk's db/trac.db.
  const databaseRelative =
    database.kind === 'sqlite' && !database.external
      ? await onDiskSpelling(root, path.relative(root, database.file).split(path.sep).join('/'))
      : undefined;
  return {
    root,
    realRoot,
    projectName: environment.name,
    database,
    config: environment.config,
    databaseRelative,
    exclude: excludeFor(databaseRelative),
    follow: followedFolders(databaseRelative),
  };
}

/**
 * A restore killed between moving the environment aside and moving its copy in leaves no folder
 * at the environment's path, and its journal beside it: say so rather than "does not exist".
 */
async function refuseInterruptedRestore(environment: string): Promise<void> {
  if (await pathExists(environment)) {
    return;
  }
  const journal = await readJournal(environment).catch(() => undefined);
  if (!journal) {
    return;
  }
  const file = journalPath(environment);
  const running =
    journal.host === os.hostname() && workOwnerRunning(journal.pid, Date.parse(journal.startedAt), journalsInUseHere.has(file));
  throw new TracBackupError(
    'RESTORE_IN_PROGRESS',
    running
      ? `${environment} is missing: a restore of ${journal.backup} is swapping folders right now (process ${journal.pid}): ` +
          'back up once it is done.'
      : `${environment} is missing: a restore of ${journal.backup} was interrupted while swapping folders: run the restore ` +
          `again to finish it (trac-backup restore ${journal.backup} ${environment}), then back up.`,
    environment,
  );
}

/** Reads the environment and refuses what a hot backup cannot handle, before anything is copied. */
export async function inspectSource(environmentPath: string, includeDatabase: boolean): Promise<HotcopySource> {
  const {
    root,
    realRoot,
    projectName,
    database,
    config,
    databaseRelative: relative,
    exclude,
    follow,
  } = await sourceLayout(environmentPath);
  const source = { root, realRoot, projectName, follow, linkedFolders: await linkedFolderTargets(root, relative) };
  if (isServerLocation(database)) {
    const manifestDatabase: ManifestDatabase = { kind: database.kind, url: database.display, external: true, included: includeDatabase };
    if (!includeDatabase) {
      return { ...source, exclude, manifestDatabase };
    }
    const storedAt = dumpStoredAt(database);
    return {
      ...source,
      exclude: (relative, kind) => relative === storedAt || exclude(relative, kind),
      manifestDatabase,
      server: { location: database, config },
    };
  }
  if (database.kind === 'other') {
    if (includeDatabase) {
      throw new TracBackupError(
        'DATABASE_UNSUPPORTED',
        `The database of ${root} is ${database.display}: backing up ${database.scheme} databases is not supported yet. ` +
          `Back up the files with --no-database and the database with its own tools (pg_dump, mysqldump).`,
        root,
      );
    }
    return {
      ...source,
      exclude,
      manifestDatabase: { kind: 'other', url: database.display, external: true, included: false },
    };
  }
  const manifestDatabase: ManifestDatabase = {
    kind: 'sqlite',
    url: database.display,
    file: database.file,
    external: database.external,
    included: includeDatabase,
  };
  const size = await databaseSize(database.file, includeDatabase);
  if (size === undefined) {
    return { ...source, exclude, manifestDatabase };
  }
  // With the database included, its version is read from the snapshot.
  await whenNotLockedInProcess(database.file);
  const { version } = await probeDatabase(database.file, !includeDatabase);
  if (!includeDatabase) {
    return { ...source, exclude, manifestDatabase: { ...manifestDatabase, version } };
  }
  return {
    ...source,
    exclude,
    manifestDatabase,
    snapshot: {
      file: database.file,
      storedAt: relative ?? (await externalStorePath(root, path.basename(database.file))),
      external: database.external,
      bytes: size,
    },
  };
}

/** Size of the database; undefined when it is missing and not needed. */
async function databaseSize(file: string, required: boolean): Promise<number | undefined> {
  try {
    return (await fs.stat(file)).size;
  } catch (error) {
    if (!required) {
      return undefined;
    }
    throw new TracBackupError(
      errnoCode(error) === 'ENOENT' ? 'DATABASE_MISSING' : 'DATABASE_UNREADABLE',
      errnoCode(error) === 'ENOENT'
        ? `The database ${file} does not exist: check [trac] database in trac.ini, or back up without it (--no-database).`
        : `Can't read the database ${file} (${errnoCode(error)}): check its permissions.`,
      file,
      { cause: error },
    );
  }
}

function excludeFor(databaseRelative: string | undefined): HotcopySource['exclude'] {
  const skipped = new Set([MANIFEST_FILE]);
  if (databaseRelative) {
    skipped.add(databaseRelative);
    for (const side of sqliteSideFiles(databaseRelative)) {
      skipped.add(side);
    }
  }
  return (relative) => skipped.has(relative);
}

/** db/<name>, or a variant of it that the environment does not already use. */
async function externalStorePath(root: string, name: string): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const candidate = attempt === 1 ? `db/${name}` : `db/external-${attempt}-${name}`;
    const taken = await fs.lstat(path.join(root, ...candidate.split('/'))).then(
      () => true,
      () => false,
    );
    if (!taken) {
      return candidate;
    }
  }
}
