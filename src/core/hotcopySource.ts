import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { probeDatabase, sqliteSideFiles, whenNotLockedInProcess } from './databaseSnapshot';
import { requireEnvironment } from './environment';
import { TracBackupError, errnoCode } from './errors';
import { DatabaseLocation } from './databaseUrl';
import { EntryKind } from './fileTree';
import { MANIFEST_FILE, ManifestDatabase } from './manifest';

/** What a hot backup needs to know about the environment it copies. */
export interface HotcopySource {
  /** Absolute path of the environment, as given (resolved). */
  root: string;
  /** The same through real paths, to compare with the destination. */
  realRoot: string;
  projectName: string;
  /** Leaves out the database, its side files and a metadata file a copied backup carries. */
  exclude: (relative: string, kind: EntryKind) => boolean;
  manifestDatabase: ManifestDatabase;
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
  /** The SQLite database's path relative to the environment, when it lies inside it. */
  databaseRelative?: string;
  /** Leaves out the database, its side files and a metadata file a copied backup carries. */
  exclude: (relative: string, kind: EntryKind) => boolean;
}

/**
 * Reads trac.ini for where the database is; never opens the database (a raw open and close of
 * it would drop the SQLite locks this process holds on it: see changedSinceBackup.ts).
 */
export async function sourceLayout(environmentPath: string): Promise<SourceLayout> {
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
  const databaseRelative =
    database.kind === 'sqlite' && !database.external ? path.relative(root, database.file).split(path.sep).join('/') : undefined;
  return { root, realRoot, projectName: environment.name, database, databaseRelative, exclude: excludeFor(databaseRelative) };
}

/** Reads the environment and refuses what a hot backup cannot handle, before anything is copied. */
export async function inspectSource(environmentPath: string, includeDatabase: boolean): Promise<HotcopySource> {
  const { root, realRoot, projectName, database, databaseRelative: relative, exclude } = await sourceLayout(environmentPath);
  const source = { root, realRoot, projectName };
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
