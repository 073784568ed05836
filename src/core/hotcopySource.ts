import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { probeDatabase, sqliteSideFiles } from './databaseSnapshot';
import { requireEnvironment } from './environment';
import { TracBackupError, errnoCode } from './errors';
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

/** Reads the environment and refuses what a hot backup cannot handle, before anything is copied. */
export async function inspectSource(environmentPath: string, includeDatabase: boolean): Promise<HotcopySource> {
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
  const source = { root, realRoot, projectName: environment.name };
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
      exclude: excludeFor(undefined),
      manifestDatabase: { kind: 'other', url: database.display, external: true, included: false },
    };
  }
  const relative = database.external ? undefined : path.relative(root, database.file).split(path.sep).join('/');
  const manifestDatabase: ManifestDatabase = {
    kind: 'sqlite',
    url: database.display,
    file: database.file,
    external: database.external,
    included: includeDatabase,
  };
  const size = await databaseSize(database.file, includeDatabase);
  if (size === undefined) {
    return { ...source, exclude: excludeFor(relative), manifestDatabase };
  }
  // With the database included, its version is read from the snapshot.
  const { version } = probeDatabase(database.file, !includeDatabase);
  if (!includeDatabase) {
    return { ...source, exclude: excludeFor(relative), manifestDatabase: { ...manifestDatabase, version } };
  }
  return {
    ...source,
    exclude: excludeFor(relative),
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
