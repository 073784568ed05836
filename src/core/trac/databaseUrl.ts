import * as path from 'node:path';

/** Trac's default when `[trac] database` is not set. */
export const DEFAULT_DATABASE_URL = 'sqlite:db/trac.db';

export type DatabaseLocation =
  | {
      kind: 'sqlite';
      /** Absolute path of the database file. */
      file: string;
      /** True when the file lies outside the environment folder. */
      external: boolean;
      /** The query parameters after '?', e.g. journal_mode=WAL. */
      params: Record<string, string>;
      /** What to show a user: the URL as written. */
      display: string;
    }
  | ServerDatabaseLocation
  | {
      kind: 'other';
      scheme: string;
      host: string;
      /** Scheme, host and database name only: never the user or password. */
      display: string;
    };

/**
 * A PostgreSQL or MySQL/MariaDB database as Trac's parse_connection_uri reads it:
 * `postgres://user:password@host:port/database?schema=name&host=/socket/dir`,
 * `mysql://user:password@host:port/database?unix_socket=/path`. User and password are
 * URL-unquoted, as Trac does. The password is kept here for the connection and the dump tools'
 * environment only: never put it in a `display`, a message, a log or metadata.
 */
export interface ServerDatabaseLocation {
  kind: 'postgres' | 'mysql';
  scheme: string;
  user?: string;
  password?: string;
  /** The TCP host, when the URL names one ('' or absent: the default, or the socket). */
  host?: string;
  port?: number;
  /** PostgreSQL: the socket folder (`?host=/dir`); MySQL: the socket file (`?unix_socket=`). */
  socket?: string;
  database: string;
  /** PostgreSQL: Trac's `?schema=`; `public` when absent. */
  schema?: string;
  /** The other query parameters, as written. */
  params: Record<string, string>;
  /** Scheme, server and database only: never the user or password. */
  display: string;
}

/** True for a PostgreSQL or MySQL/MariaDB database. */
export function isServerLocation(location: DatabaseLocation | undefined): location is ServerDatabaseLocation {
  return location?.kind === 'postgres' || location?.kind === 'mysql';
}

/** The server and database of a server location, for messages: `127.0.0.1:5432/trac` or `/run/pg/trac`. */
export function describeServer(location: ServerDatabaseLocation): string {
  const where = location.socket ?? (location.host || 'localhost');
  return `${where}${location.port !== undefined ? `:${location.port}` : ''}`;
}

/**
 * Reads a Trac database connection string the way trac.db.api.parse_connection_uri does:
 * `sqlite:db/trac.db` (relative to the environment), `sqlite:/abs/path.db`,
 * `sqlite:///abs/path.db`, with optional `?name=value` parameters; other schemes
 * (postgres://user:pass@host:port/db, mysql://…) are recognised but only described.
 */
export function parseDatabaseUrl(url: string, environmentPath: string): DatabaseLocation {
  const trimmed = url.trim();
  const colon = trimmed.indexOf(':');
  if (colon <= 0) {
    throw new SyntaxError(`"${trimmed}" is not a database connection string (expected e.g. ${DEFAULT_DATABASE_URL})`);
  }
  const scheme = trimmed.slice(0, colon).toLowerCase();
  const rest = trimmed.slice(colon + 1);
  if (scheme === 'postgres' || scheme === 'postgresql' || scheme === 'mysql') {
    return parseServerUrl(scheme, rest);
  }
  if (scheme !== 'sqlite') {
    return describeServerUrl(scheme, rest);
  }
  const [location, query = ''] = splitOnce(rest, '?');
  let filePart = location;
  if (filePart.startsWith('///')) {
    filePart = `/${filePart.slice(3)}`;
  }
  if (filePart === '' || filePart === ':memory:') {
    throw new SyntaxError(`"${trimmed}" names no database file (an in-memory database cannot be backed up)`);
  }
  const environment = path.resolve(environmentPath);
  const file = path.resolve(environment, filePart);
  const relative = path.relative(environment, file);
  return {
    kind: 'sqlite',
    file,
    external: relative.startsWith('..') || path.isAbsolute(relative),
    params: Object.fromEntries(new URLSearchParams(query)),
    display: trimmed,
  };
}

function parseServerUrl(scheme: string, rest: string): ServerDatabaseLocation {
  const kind = scheme === 'mysql' ? 'mysql' : 'postgres';
  const withoutSlashes = rest.replace(/^\/\//, '');
  const [beforeQuery, query = ''] = splitOnce(withoutSlashes, '?');
  const [authority, databasePart = ''] = splitOnce(beforeQuery, '/');
  const at = authority.lastIndexOf('@');
  const credentials = at >= 0 ? authority.slice(0, at) : undefined;
  const hostPort = at >= 0 ? authority.slice(at + 1) : authority;
  const [user, password] = credentials === undefined ? [] : splitOnce(credentials, ':');
  const portMatch = /^(.*):(\d*)$/.exec(hostPort);
  const host = decodeURIComponent(portMatch ? portMatch[1] : hostPort);
  const portText = portMatch?.[2];
  const params = Object.fromEntries(new URLSearchParams(query));
  const database = decodeURIComponent(databasePart);
  if (!database) {
    throw new SyntaxError(
      `The database URL ${scheme}://${host}/ names no database: write it as ${scheme}://user:password@host:port/database`,
    );
  }
  if (portText && !/^\d+$/.test(portText)) {
    throw new SyntaxError(`The database URL ${scheme}://${host}/${database} has a port that is not a number`);
  }
  const socket = kind === 'postgres' ? (params.host ?? (host.startsWith('/') ? host : undefined)) : params.unix_socket;
  const { host: _hostParam, unix_socket: _socketParam, schema, ...otherParams } = params;
  void _hostParam;
  void _socketParam;
  const location: ServerDatabaseLocation = {
    kind,
    scheme,
    user: user === undefined ? undefined : decodeURIComponent(user),
    password: password === undefined ? undefined : decodeURIComponent(password),
    host: host && !host.startsWith('/') ? host : undefined,
    port: portText ? Number(portText) : undefined,
    socket,
    database,
    schema: kind === 'postgres' ? schema || undefined : undefined,
    params: kind === 'postgres' ? otherParams : { ...otherParams, ...(schema !== undefined && { schema }) },
    display: '',
  };
  location.display = `${scheme}://${describeServer(location)}/${database}${location.schema ? `?schema=${location.schema}` : ''}`;
  return location;
}

/** The effective TCP port (the URL's, or the server's default). */
export function serverPort(location: ServerDatabaseLocation): number {
  return location.port ?? (location.kind === 'postgres' ? 5432 : 3306);
}

/** The URL Trac reads for `location` with `database` (and the same user, password, server and options). */
export function serverUrlWith(location: ServerDatabaseLocation, database: string): string {
  const credentials =
    location.user !== undefined
      ? `${encodeURIComponent(location.user)}${location.password !== undefined ? `:${encodeURIComponent(location.password)}` : ''}@`
      : '';
  const host = location.host ?? (location.kind === 'mysql' && location.socket ? 'localhost' : '');
  const port = location.port !== undefined ? `:${location.port}` : '';
  const params: Record<string, string> = { ...location.params };
  if (location.kind === 'postgres') {
    if (location.socket) params.host = location.socket;
    if (location.schema) params.schema = location.schema;
  } else if (location.socket) {
    params.unix_socket = location.socket;
  }
  const query = Object.entries(params)
    .map(([key, value]) => `${key}=${value}`)
    .join('&');
  return `${location.scheme}://${credentials}${host}${port}/${encodeURIComponent(database)}${query ? `?${query}` : ''}`;
}

function describeServerUrl(scheme: string, rest: string): DatabaseLocation {
  const withoutSlashes = rest.replace(/^\/\//, '');
  const [authority, pathPart = ''] = splitOnce(withoutSlashes, '/');
  const host = authority.includes('@') ? authority.slice(authority.lastIndexOf('@') + 1) : authority;
  const databaseName = splitOnce(pathPart, '?')[0];
  return {
    kind: 'other',
    scheme,
    host,
    display: `${scheme}://${host}${databaseName ? `/${databaseName}` : ''}`,
  };
}

function splitOnce(text: string, separator: string): [string, string?] {
  const at = text.indexOf(separator);
  return at < 0 ? [text] : [text.slice(0, at), text.slice(at + separator.length)];
}

/** The SQLite file a `[trac] database` value names, relative to `environment`; undefined when it names none. */
export function sqliteFileOf(url: string, environment: string): string | undefined {
  try {
    const location = parseDatabaseUrl(url, environment);
    return location.kind === 'sqlite' ? location.file : undefined;
  } catch {
    return undefined;
  }
}
