import { ServerDatabaseLocation } from '../trac/databaseUrl';
import { serverError } from '../serverDatabase/serverErrors';
import { TracBackupError } from '../shared/errors';
import { connectMysql, quoteName } from './mysqlConnection';
import { loadMysqlDump } from './mysqlLoad';

export async function mysqlOtherConnections(target: ServerDatabaseLocation): Promise<string[]> {
  const connection = await connectMysql(target, 'looking for other connections', { database: null });
  try {
    const [rows] = await connection.query(
      'SELECT id, user, host, command FROM information_schema.processlist WHERE db = ? AND id <> CONNECTION_ID()',
      [target.database],
    );
    return (rows as Array<{ id: number; user: string; host: string }>).map(
      (row) => `connection ${row.id} (user ${row.user}, from ${row.host})`,
    );
  } finally {
    await connection.end().catch(() => undefined);
  }
}

/** Database names this tool's restores of `database` make: kept asides and scratch copies. */
export async function mysqlRestoreNames(target: ServerDatabaseLocation): Promise<{ exists: boolean; asides: string[]; scratch: string[] }> {
  const connection = await connectMysql(target, 'reading the databases', { database: null });
  try {
    const [rows] = await connection.query('SELECT schema_name AS name FROM information_schema.schemata');
    const names = (rows as Array<{ name: string }>).map((row) => row.name);
    const db = target.database;
    return {
      exists: names.includes(db),
      asides: names.filter((name) => name.startsWith(`${db}_before_restore_`)).sort(),
      scratch: names.filter((name) => name.startsWith(`${db}_restore_`)).sort(),
    };
  } finally {
    await connection.end().catch(() => undefined);
  }
}

/** Drops the scratch databases killed restores left (they never held live data). */
export async function dropMysqlScratch(target: ServerDatabaseLocation, names: string[]): Promise<void> {
  if (names.length === 0) return;
  const connection = await connectMysql(target, 'removing what an interrupted restore left', { database: null });
  try {
    for (const name of names) {
      await connection.query(`DROP DATABASE IF EXISTS ${quoteName(name)}`);
    }
  } finally {
    await connection.end().catch(() => undefined);
  }
}

function privilegeError(target: ServerDatabaseLocation, name: string, error: unknown): TracBackupError {
  const user = target.user ?? 'the user';
  return new TracBackupError(
    'SERVER_PRIVILEGE_MISSING',
    `${user} may not create the database ${name} on ${target.display}, which the restore loads the backup into before it swaps ` +
      `it in whole (keeping the old tables as ${target.database}_before_restore_…): have an administrator run ` +
      `GRANT ALL PRIVILEGES ON \`${target.database.replace(/_/g, '\\_')}\\_%\`.* TO '${user}'@'…', or restore with --in-place ` +
      '(the tables are dropped and loaded in the database itself: not atomic, and nothing of the old data is kept; a restore stopped midway leaves a partial database).',
    target.display,
    { cause: error },
  );
}

/**
 * Loads the dump into a new database `scratch` (utf8mb4_bin, as Trac wants), then swaps it in
 * with ONE `RENAME TABLE` (atomic): the live tables to `aside`, the loaded ones in their place;
 * the empty scratch database is dropped. A run killed before the rename leaves the live data
 * untouched and a scratch database the next run drops.
 */
export async function restoreMysqlSwapped(
  dump: string,
  target: ServerDatabaseLocation,
  names: { scratch: string; aside: string },
  configuredDump?: string,
): Promise<{ aside: string | null }> {
  const connection = await connectMysql(target, 'restoring the database', { database: null });
  try {
    try {
      await connection.query(`CREATE DATABASE ${quoteName(names.scratch)} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    } catch (error) {
      if (Number((error as { errno?: number }).errno) === 1044) throw privilegeError(target, names.scratch, error);
      throw serverError(error, target, 'creating the scratch database');
    }
    await loadMysqlDump(dump, target, names.scratch, configuredDump);
    const tablesOf = async (database: string) =>
      (
        (
          await connection.query(
            "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = ? AND table_type = 'BASE TABLE'",
            [database],
          )
        )[0] as Array<{ t: string }>
      ).map((row) => row.t);
    const [live, loaded] = [await tablesOf(target.database), await tablesOf(names.scratch)];
    const renames: string[] = [];
    let aside: string | null = null;
    if (live.length > 0) {
      try {
        await connection.query(`CREATE DATABASE ${quoteName(names.aside)} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
      } catch (error) {
        if (Number((error as { errno?: number }).errno) === 1044) throw privilegeError(target, names.aside, error);
        throw serverError(error, target, 'creating the database the old data is kept in');
      }
      aside = names.aside;
      renames.push(
        ...live.map((table) => `${quoteName(target.database)}.${quoteName(table)} TO ${quoteName(names.aside)}.${quoteName(table)}`),
      );
    }
    renames.push(
      ...loaded.map((table) => `${quoteName(names.scratch)}.${quoteName(table)} TO ${quoteName(target.database)}.${quoteName(table)}`),
    );
    await connection.query(`RENAME TABLE ${renames.join(', ')}`);
    await connection.query(`DROP DATABASE ${quoteName(names.scratch)}`);
    return { aside };
  } catch (error) {
    // Before the rename nothing live was touched: the scratch (and an empty aside) go.
    await connection.query(`DROP DATABASE IF EXISTS ${quoteName(names.scratch)}`).catch(() => undefined);
    if (names.aside) {
      const [rows] = await connection
        .query('SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = ?', [names.aside])
        .catch(() => [[{ n: 1 }]] as never);
      if (Number((rows as Array<{ n: number }>)[0]?.n) === 0) {
        await connection.query(`DROP DATABASE IF EXISTS ${quoteName(names.aside)}`).catch(() => undefined);
      }
    }
    throw serverError(error, target, 'restoring the database');
  } finally {
    await connection.end().catch(() => undefined);
  }
}

/** --in-place: every table of the database dropped, then the dump loaded into it (not atomic). */
export async function restoreMysqlInPlace(dump: string, target: ServerDatabaseLocation, configuredDump?: string): Promise<void> {
  const connection = await connectMysql(target, 'restoring the database in place');
  try {
    const [rows] = await connection.query(
      "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'",
    );
    const tables = (rows as Array<{ t: string }>).map((row) => quoteName(row.t));
    if (tables.length > 0) await connection.query(`DROP TABLE ${tables.join(', ')}`);
  } catch (error) {
    throw serverError(error, target, 'dropping the tables for an in-place restore');
  } finally {
    await connection.end().catch(() => undefined);
  }
  await loadMysqlDump(dump, target, target.database, configuredDump);
}
