import type { Connection, ConnectionOptions } from 'mysql2/promise';
import { ServerDatabaseLocation } from '../trac/databaseUrl';
import { serverError } from '../serverDatabase/serverErrors';

/** The `mysql2` driver, loaded when first needed (a SQLite-only extension never loads it). */
function mysqlModule(): typeof import('mysql2/promise') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('mysql2/promise') as typeof import('mysql2/promise');
}

export function mysqlConfig(
  location: ServerDatabaseLocation,
  database: string | undefined = location.database,
  timeoutMs = 5000,
): ConnectionOptions {
  return {
    ...(location.socket ? { socketPath: location.socket } : { host: location.host ?? 'localhost', port: location.port ?? 3306 }),
    user: location.user,
    password: location.password,
    database,
    connectTimeout: timeoutMs,
    charset: 'utf8mb4',
    multipleStatements: false,
  };
}

export async function connectMysql(
  location: ServerDatabaseLocation,
  doing: string,
  options: { database?: string | null; timeoutMs?: number } = {},
): Promise<Connection> {
  try {
    const connection = await mysqlModule().createConnection(
      mysqlConfig(location, options.database === null ? undefined : (options.database ?? location.database), options.timeoutMs),
    );
    connection.on('error', () => undefined);
    return connection;
  } catch (error) {
    throw serverError(error, location, doing);
  }
}

/** `name` quoted for MySQL. */
export function quoteName(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}
