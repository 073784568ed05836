import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ServerDatabaseLocation, isServerLocation, parseDatabaseUrl } from '../trac/databaseUrl';
import { readTracConfig, setIniOption } from '../trac/tracIni';
export { findServerDump, serverWorkFolder } from '../serverDatabase/serverDump';
export type { ServerDump } from '../serverDatabase/serverDump';
import { ServerDump } from '../serverDatabase/serverDump';
import { ServerContents, readServerContents } from '../serverDatabase/serverContents';
import { TracBackupError, describeError } from '../shared/errors';
import { fileStamp } from '../shared/format';
import { postgresOtherConnections, postgresSchemas, requirePostgresRestorePrivileges } from '../postgres/postgresRestore';
import { dumpAsSql, loadPostgresSql, schemaInSql } from '../postgres/postgresLoad';
import { schemaOf } from '../postgres/postgresConnection';
import {
  dropMysqlScratch,
  mysqlOtherConnections,
  mysqlRestoreNames,
  restoreMysqlInPlace,
  restoreMysqlSwapped,
} from '../mysql/mysqlRestore';

/** What a restore would do to the server database, for the prompt; names only, never the password. */
export interface ServerRestorePlan {
  kind: 'postgres' | 'mysql';
  /** Scheme, server and database. */
  display: string;
  database: string;
  schema?: string;
  /** What the database holds now; undefined when it holds no Trac tables (or cannot be read: see error). */
  holdsNow?: ServerContents;
  /** What the backup holds, when its metadata says. */
  backupHolds?: { tickets?: number; wikiPages?: number };
  /** Where the data there now will be kept (a schema or a database); null when nothing is replaced or in place. */
  aside: string | null;
  inPlace: boolean;
  /** Other connections to that database, which the restore refuses to go past without force. */
  otherConnections: string[];
  /** Set when the restored trac.ini will name another database than the backup's. */
  rewritesConfig: boolean;
}

export interface ServerRestoreTarget {
  location: ServerDatabaseLocation;
  /** The `[trac] database` value the restored trac.ini gets. */
  url: string;
  plan: ServerRestorePlan;
  scratch?: string;
}

const MAX_NAME = 63;
function nameWithStamp(base: string, suffix: string): string {
  return `${base.slice(0, MAX_NAME - suffix.length)}${suffix}`;
}

/**
 * Decides where a server dump goes: `databaseUrl` (moving to another server or database), else the
 * database the environment's trac.ini names now, else the backup's. Refuses a server of another
 * kind and (PostgreSQL) another schema name, which pg_restore cannot rename.
 */
export async function planServerRestore(
  dump: ServerDump,
  environment: string,
  options: { databaseUrl?: string; now?: Date; inPlace?: boolean },
): Promise<ServerRestoreTarget> {
  let url = options.databaseUrl;
  if (!url) {
    const envConfig = await readTracConfig(path.join(environment, 'conf', 'trac.ini')).catch(() => undefined);
    const envUrl = envConfig?.get('trac', 'database');
    const envLocation = envUrl ? safeParse(envUrl, environment) : undefined;
    url = isServerLocation(envLocation) ? envUrl : undefined;
  }
  const location = url ? safeParse(url, environment) : dump.from;
  if (!isServerLocation(location)) {
    throw new TracBackupError(
      'SERVER_KIND_MISMATCH',
      `The backup holds a ${dump.kind === 'postgres' ? 'PostgreSQL' : 'MySQL/MariaDB'} database, but ${url ?? 'the target'} is not a server database: ` +
        'name one with --database-url (e.g. postgres://user:password@host:port/database).',
      environment,
    );
  }
  if (location.kind !== dump.kind) {
    throw new TracBackupError(
      'SERVER_KIND_MISMATCH',
      `The backup holds a ${dump.kind === 'postgres' ? 'PostgreSQL' : 'MySQL/MariaDB'} database and ${location.display} is ` +
        `${location.kind === 'postgres' ? 'PostgreSQL' : 'MySQL/MariaDB'}: a dump restores only into a server of its own kind. Name one with --database-url.`,
      location.display,
    );
  }
  if (location.kind === 'postgres' && dump.schema && schemaOf(location) !== dump.schema) {
    throw new TracBackupError(
      'INVALID_ARGUMENT',
      `The backup's data is in the schema ${dump.schema}, and ${location.display} keeps Trac in ${schemaOf(location)}: a PostgreSQL dump restores ` +
        `only under its own schema name. Add ?schema=${dump.schema} to the database URL (or leave it out for public).`,
      location.display,
    );
  }
  const stamp = fileStamp(options.now ?? new Date()).replace('-', '_');
  const inPlace = options.inPlace === true;
  const holdsNow = await readServerContents(location, 5000).catch((error: unknown) => {
    if (error instanceof TracBackupError && error.code === 'SERVER_DATABASE_MISSING') {
      throw new TracBackupError(
        'SERVER_DATABASE_MISSING',
        `${describeError(error)} The restore loads into an existing database: create it first ` +
          (location.kind === 'postgres'
            ? `(CREATE DATABASE "${location.database}" OWNER "${location.user ?? 'trac'}" ENCODING 'UTF8' TEMPLATE template0).`
            : `(CREATE DATABASE \`${location.database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin, and GRANT ALL on it).`),
        location.display,
      );
    }
    throw error;
  });
  const hasTrac = holdsNow.version !== undefined || holdsNow.tickets !== undefined;
  let aside: string | null = null;
  let scratch: string | undefined;
  if (location.kind === 'postgres') {
    const schemas = await postgresSchemas(location);
    // An empty schema (a new database's public) needs no keeping: the load goes into it.
    if (schemas.exists && !inPlace && (hasTrac || holdsNow.bytes > 0)) {
      aside = nameWithStamp(schemaOf(location), `_before_restore_${stamp}`);
    }
    if (!inPlace) await requirePostgresRestorePrivileges(location, schemas.exists);
  } else if (!inPlace) {
    scratch = nameWithStamp(location.database, `_restore_${stamp}`);
    aside = hasTrac || holdsNow.bytes > 0 ? nameWithStamp(location.database, `_before_restore_${stamp}`) : null;
  }
  const otherConnections = await lastingConnections(location);
  const fromUrl = dump.from ? `${dump.from.kind}:${dump.from.display}` : undefined;
  return {
    location,
    url: url ?? '',
    scratch,
    plan: {
      kind: location.kind,
      display: location.display,
      database: location.database,
      schema: location.kind === 'postgres' ? schemaOf(location) : undefined,
      holdsNow: hasTrac ? holdsNow : undefined,
      backupHolds: dump.holds,
      aside,
      inPlace,
      otherConnections,
      rewritesConfig: url !== undefined && fromUrl !== `${location.kind}:${location.display}`,
    },
  };
}

/**
 * The other connections that stay: a connection that just closed (this tool's backup a moment ago)
 * may be listed for a few hundred milliseconds while the server tidies it up.
 */
async function lastingConnections(location: ServerDatabaseLocation): Promise<string[]> {
  const list = () => (location.kind === 'postgres' ? postgresOtherConnections(location) : mysqlOtherConnections(location));
  let found = await list();
  for (let attempt = 0; attempt < 5 && found.length > 0; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const again = new Set(await list());
    found = found.filter((connection) => again.has(connection));
  }
  return found;
}

function safeParse(url: string, environment: string) {
  try {
    return parseDatabaseUrl(url, environment);
  } catch (error) {
    throw new TracBackupError('INVALID_ARGUMENT', `The database URL is not valid: ${describeError(error)}`, environment);
  }
}

/** Refuses a restore over a database others are connected to, naming them, unless forced. */
export function refuseOtherConnections(target: ServerRestoreTarget): void {
  const others = target.plan.otherConnections;
  if (others.length > 0) {
    throw new TracBackupError(
      'DATABASE_IN_USE',
      `${target.plan.display} is in use by ${others.length} other connection${others.length === 1 ? '' : 's'}: ${others.join('; ')}. ` +
        'Stop Trac (tracd, the web server) and whatever else uses it, or restore anyway with --force.',
      target.plan.display,
    );
  }
}

/**
 * Loads the dump into the target, whole or not at all (PostgreSQL: one transaction that renames
 * the schema aside and loads the new one; MySQL: a scratch database swapped in with one
 * RENAME TABLE), or in place when asked. `work` is a private folder for the SQL.
 */
export async function restoreServerDatabase(
  dump: ServerDump,
  target: ServerRestoreTarget,
  work: string,
  signal?: AbortSignal,
): Promise<{ aside: string | null }> {
  if (target.location.kind === 'postgres') {
    const sql = path.join(work, 'restore.sql');
    await dumpAsSql(dump.file, dump.format, sql, dump.configuredDump);
    const created = await schemaInSql(sql);
    if (created && created !== schemaOf(target.location)) {
      throw new TracBackupError(
        'INVALID_ARGUMENT',
        `The dump holds the schema ${created}, not ${schemaOf(target.location)}: add ?schema=${created} to the database URL.`,
        dump.file,
      );
    }
    await loadPostgresSql(sql, target.location, {
      aside: target.plan.aside ?? undefined,
      dropFirst: target.plan.inPlace,
      configuredDump: dump.configuredDump,
      signal,
    });
    return { aside: target.plan.aside };
  }
  if (target.plan.inPlace) {
    await restoreMysqlInPlace(dump.file, target.location, dump.configuredDump);
    return { aside: null };
  }
  return restoreMysqlSwapped(dump.file, target.location, { scratch: target.scratch!, aside: target.plan.aside ?? '' }, dump.configuredDump);
}

/** Writes `[trac] database = url` into a restored copy's trac.ini (moving to another database). */
export async function pointCopyAt(copyRoot: string, url: string): Promise<void> {
  const ini = path.join(copyRoot, 'conf', 'trac.ini');
  const stats = await fs.stat(ini);
  await fs.chmod(ini, 0o600);
  await fs.writeFile(ini, setIniOption(await fs.readFile(ini, 'utf8'), 'trac', 'database', url));
  await fs.chmod(ini, stats.mode & 0o777 & ~0o077 ? 0o600 : stats.mode & 0o777);
}

/**
 * What a restore killed earlier left on the server (MySQL: a scratch database it was loading):
 * removed, and said. PostgreSQL's load is one transaction: a killed one left nothing.
 */
export async function tidyServerLeftovers(target: ServerRestoreTarget): Promise<string[]> {
  if (target.location.kind !== 'mysql') {
    return [];
  }
  const names = await mysqlRestoreNames(target.location);
  const stale = names.scratch.filter((name) => name !== target.scratch);
  await dropMysqlScratch(target.location, stale);
  return stale.map(
    (name) =>
      `Removed ${name} from ${target.plan.display}: a restore stopped while loading it had left it (the live database was not touched).`,
  );
}

/** The server database part of a restore's prompt, in words (both faces show these lines). */
export function serverRestoreLines(plan: ServerRestorePlan): string[] {
  const kind = plan.kind === 'postgres' ? 'PostgreSQL' : 'MySQL/MariaDB';
  const where = `${kind} ${plan.display}${plan.schema && plan.schema !== 'public' ? '' : ''}`;
  const counts = (holds: { tickets?: number; wikiPages?: number } | undefined) =>
    holds && holds.tickets !== undefined ? `${holds.tickets} tickets, ${holds.wikiPages ?? '?'} wiki pages` : 'unknown contents';
  const lines = [
    plan.holdsNow
      ? `The database ${where} holds ${counts(plan.holdsNow)} now; the backup holds ${counts(plan.backupHolds)}.`
      : `The backup's database (${counts(plan.backupHolds)}) goes into ${where}, which holds no Trac data now.`,
  ];
  if (plan.inPlace) {
    lines.push(
      'In place (--in-place): its tables are dropped and loaded anew; nothing of the old data is kept, and a restore stopped midway leaves it partial.',
    );
  } else if (plan.aside) {
    lines.push(
      `Its data is kept, not deleted, as the ${plan.kind === 'postgres' ? 'schema' : 'database'} ${plan.aside}; the swap is one atomic step.`,
    );
  }
  if (plan.rewritesConfig) {
    lines.push(`The restored trac.ini will name ${plan.display}.`);
  }
  if (plan.otherConnections.length > 0) {
    lines.push(`Other connections to it: ${plan.otherConnections.join('; ')}.`);
  }
  return lines;
}
