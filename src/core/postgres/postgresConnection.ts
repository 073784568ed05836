import type { Client, ClientConfig } from 'pg';
import { ServerDatabaseLocation } from '../trac/databaseUrl';
import { serverError } from '../serverDatabase/serverErrors';

/** The `pg` driver, loaded when first needed (a SQLite-only extension never loads it). */
function pgModule(): typeof import('pg') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('pg') as typeof import('pg');
}

/** The connection settings of a Trac URL; the socket folder goes in `host`, as libpq takes it. */
export function postgresConfig(location: ServerDatabaseLocation, database = location.database, timeoutMs = 5000): ClientConfig {
  return {
    host: location.socket ?? location.host ?? 'localhost',
    port: location.port ?? 5432,
    user: location.user,
    password: location.password,
    database,
    connectionTimeoutMillis: timeoutMs,
    application_name: 'trac-backup',
  };
}

/** A connected client; errors say what a user can do (serverErrors.ts). */
export async function connectPostgres(
  location: ServerDatabaseLocation,
  doing: string,
  options: { database?: string; timeoutMs?: number } = {},
): Promise<Client> {
  const { Client: PgClient } = pgModule();
  const client = new PgClient(postgresConfig(location, options.database, options.timeoutMs));
  // A server that goes away later must not crash the process through an unhandled 'error'.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw serverError(error, location, doing);
  }
  return client;
}

/** A quoted identifier: "name". */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function schemaOf(location: ServerDatabaseLocation): string {
  return location.schema ?? 'public';
}
