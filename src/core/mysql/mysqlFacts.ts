import { ServerDatabaseLocation } from '../trac/databaseUrl';
import { connectMysql, quoteName } from './mysqlConnection';

/** What a MySQL/MariaDB database of Trac holds: its size, database_version, tickets and wiki pages. */
export async function mysqlContents(
  location: ServerDatabaseLocation,
  timeoutMs: number,
  database = location.database,
): Promise<{ bytes: number; version?: string; tickets?: number; wikiPages?: number }> {
  const connection = await connectMysql(location, 'reading the database', { timeoutMs, database });
  try {
    const [sizeRows] = await connection.query(
      'SELECT COALESCE(SUM(data_length + index_length), 0) AS bytes FROM information_schema.tables WHERE table_schema = ?',
      [database],
    );
    const [tableRows] = await connection.query('SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ?', [
      database,
    ]);
    const has = new Set((tableRows as Array<{ name: string }>).map((row) => row.name));
    const one = async (sql: string) => ((await connection.query(sql))[0] as Array<Record<string, unknown>>)[0];
    const db = quoteName(database);
    const version = has.has('system')
      ? (await one(`SELECT value FROM ${db}.\`system\` WHERE name = 'database_version'`))?.value
      : undefined;
    const tickets = has.has('ticket') ? Number((await one(`SELECT count(*) AS n FROM ${db}.ticket`)).n) : undefined;
    const wikiPages = has.has('wiki') ? Number((await one(`SELECT count(DISTINCT name) AS n FROM ${db}.wiki`)).n) : undefined;
    return {
      bytes: Number((sizeRows as Array<{ bytes: unknown }>)[0].bytes),
      version: typeof version === 'string' || typeof version === 'number' ? String(version) : undefined,
      tickets,
      wikiPages,
    };
  } finally {
    await connection.end().catch(() => undefined);
  }
}
