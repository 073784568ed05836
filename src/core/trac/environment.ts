import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_DATABASE_URL, DatabaseLocation, parseDatabaseUrl } from './databaseUrl';
import { TracBackupError, errnoCode } from '../shared/errors';
import { IniReadError, TracConfig, readTracConfig } from './tracIni';

/** What Trac writes on the first line of VERSION. */
export const VERSION_PREFIX = 'Trac Environment Version';

export const CONFIG_RELATIVE_PATH = path.join('conf', 'trac.ini');

/**
 * Says why dir is not a Trac environment, or returns undefined when it is one:
 * a VERSION file starting with "Trac Environment Version" and a conf/trac.ini.
 */
export async function whyNotAnEnvironment(dir: string): Promise<string | undefined> {
  let stats;
  try {
    stats = await fs.stat(dir);
  } catch (error) {
    return errnoCode(error) === 'ENOENT' ? 'the folder does not exist' : `it cannot be read (${errnoCode(error)})`;
  }
  if (!stats.isDirectory()) {
    return 'it is not a folder';
  }
  let version: string;
  try {
    // A byte-order mark (an editor on Windows saved it) is not part of the text.
    version = (await fs.readFile(path.join(dir, 'VERSION'), 'utf8')).replace(/^\uFEFF/, '');
  } catch (error) {
    return errnoCode(error) === 'ENOENT' ? 'it has no VERSION file' : `its VERSION file cannot be read (${errnoCode(error)})`;
  }
  if (!version.startsWith(VERSION_PREFIX)) {
    const firstLine = version.split(/\r?\n/)[0].slice(0, 60);
    return `its VERSION file says "${firstLine}", not "${VERSION_PREFIX} …"`;
  }
  try {
    await fs.access(path.join(dir, CONFIG_RELATIVE_PATH));
  } catch {
    return 'it has no conf/trac.ini';
  }
  return undefined;
}

export interface TracEnvironment {
  /** Absolute path of the environment folder. */
  path: string;
  /** `[project] name` from trac.ini, or the folder name. */
  name: string;
  /** Where the database is, when trac.ini could be read and names one we understand. */
  database?: DatabaseLocation;
  config?: TracConfig;
  /** Why the environment cannot be backed up as it is; empty when it is healthy. */
  problems: string[];
}

/**
 * Reads what the files say about an environment. Never throws for a broken environment
 * (unreadable trac.ini, missing database): those come back as problems, so a list of
 * environments can show them.
 */
export async function readEnvironment(dir: string): Promise<TracEnvironment> {
  const envPath = path.resolve(dir);
  const environment: TracEnvironment = { path: envPath, name: path.basename(envPath), problems: [] };
  const notEnvironment = await whyNotAnEnvironment(envPath);
  if (notEnvironment) {
    environment.problems.push(`Not a Trac environment: ${notEnvironment}.`);
    return environment;
  }
  let config: TracConfig;
  try {
    config = await readTracConfig(path.join(envPath, CONFIG_RELATIVE_PATH));
  } catch (error) {
    const reason = error instanceof IniReadError ? error.message : String(error);
    environment.problems.push(`trac.ini: ${reason}. Fix the file, then refresh.`);
    return environment;
  }
  environment.config = config;
  environment.name = config.get('project', 'name') || environment.name;
  const url = config.get('trac', 'database') || DEFAULT_DATABASE_URL;
  try {
    environment.database = parseDatabaseUrl(url, envPath);
  } catch (error) {
    environment.problems.push(`[trac] database: ${(error as Error).message}.`);
    return environment;
  }
  if (environment.database.kind === 'sqlite') {
    const file = environment.database.file;
    try {
      const stats = await fs.stat(file);
      if (!stats.isFile()) {
        environment.problems.push(`The database ${file} is not a file.`);
      }
    } catch (error) {
      environment.problems.push(
        errnoCode(error) === 'ENOENT'
          ? `The database file ${file} is missing. Check [trac] database in trac.ini.`
          : `The database file ${file} cannot be read (${errnoCode(error)}).`,
      );
    }
  }
  return environment;
}

/** Like readEnvironment, but throws a TracBackupError when dir is not an environment at all. */
export async function requireEnvironment(dir: string): Promise<TracEnvironment> {
  const reason = await whyNotAnEnvironment(dir);
  if (reason) {
    throw new TracBackupError(
      'NOT_AN_ENVIRONMENT',
      `${path.resolve(dir)} is not a Trac environment: ${reason}. Choose the folder that holds VERSION and conf/trac.ini.`,
      path.resolve(dir),
    );
  }
  return readEnvironment(dir);
}
