import { ServerDatabaseLocation } from '../trac/databaseUrl';
import { connectPostgres, quoteIdent, schemaOf } from './postgresConnection';

/** What a PostgreSQL database of Trac holds: size of its schema, database_version, tickets and wiki pages. */
export async function postgresContents(
  location: ServerDatabaseLocation,
  timeoutMs: number,
  database = location.database,
): Promise<{ bytes: number; version?: string; tickets?: number; wikiPages?: number }> {
  const client = await connectPostgres(location, 'reading the database', { timeoutMs, database });
  try {
    await client.query(`SET statement_timeout = ${Math.max(1000, timeoutMs * 2)}`);
    const schema = schemaOf(location);
    const size = await client.query<{ bytes: string | null }>(
      "SELECT sum(pg_total_relation_size(c.oid))::bigint AS bytes FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'm')",
      [schema],
    );
    const tables = await client.query<{ name: string }>(
      'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1',
      [schema],
    );
    const has = new Set(tables.rows.map((row) => row.name));
    const table = (name: string) => `${quoteIdent(schema)}.${quoteIdent(name)}`;
    const version = has.has('system')
      ? (await client.query<{ value: string }>(`SELECT value FROM ${table('system')} WHERE name = 'database_version'`)).rows[0]?.value
      : undefined;
    const tickets = has.has('ticket')
      ? Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table('ticket')}`)).rows[0].n)
      : undefined;
    const wikiPages = has.has('wiki')
      ? Number((await client.query<{ n: string }>(`SELECT count(DISTINCT name) AS n FROM ${table('wiki')}`)).rows[0].n)
      : undefined;
    return { bytes: Number(size.rows[0]?.bytes ?? 0), version, tickets, wikiPages };
  } finally {
    await client.end().catch(() => undefined);
  }
}
