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
  | {
      kind: 'other';
      scheme: string;
      host: string;
      /** Scheme, host and database name only: never the user or password. */
      display: string;
    };

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
