import { TracBackupError, errnoCode } from '../shared/errors';
import { ServerDatabaseLocation, describeServer } from '../trac/databaseUrl';
import { withoutSecret } from './secrets';

const kindName = (location: ServerDatabaseLocation) => (location.kind === 'postgres' ? 'PostgreSQL' : 'MySQL/MariaDB');

/**
 * What a user can do about a failed connection or query to a server database: the server down,
 * a wrong password, the database missing, a privilege missing. The password never appears.
 */
export function serverError(error: unknown, location: ServerDatabaseLocation, doing: string): TracBackupError {
  if (error instanceof TracBackupError) {
    return error;
  }
  const server = `the ${kindName(location)} server ${describeServer(location)}`;
  const code = errnoCode(error) ?? '';
  const rawCode = (error as { code?: unknown } | undefined)?.code;
  const sqlCode = typeof rawCode === 'string' || typeof rawCode === 'number' ? String(rawCode) : '';
  const errno = Number((error as { errno?: unknown } | undefined)?.errno);
  const words = withoutSecret(error instanceof Error ? error.message : String(error), location);
  const user = location.user ?? '(default user)';
  if (
    ['ECONNREFUSED', 'ENOENT', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'ECONNRESET', 'EAI_AGAIN'].includes(code) ||
    /timeout/i.test(words)
  ) {
    return new TracBackupError(
      'SERVER_UNREACHABLE',
      `Can't reach ${server} while ${doing} (${code || words}): start the server, or check the host and port in trac.ini's [trac] database.`,
      location.display,
      { cause: error },
    );
  }
  if (sqlCode === '28P01' || sqlCode === '28000' || errno === 1045 || sqlCode === 'ER_ACCESS_DENIED_ERROR') {
    return new TracBackupError(
      'SERVER_LOGIN_FAILED',
      `${server} refused the login of ${user} while ${doing} (wrong password, or no such user): check the user and password in trac.ini's [trac] database.`,
      location.display,
      { cause: error },
    );
  }
  if (sqlCode === '3D000' || errno === 1049 || sqlCode === 'ER_BAD_DB_ERROR') {
    return new TracBackupError(
      'SERVER_DATABASE_MISSING',
      `The database ${location.database} does not exist on ${server} (while ${doing}): check trac.ini's [trac] database, or create it.`,
      location.display,
      { cause: error },
    );
  }
  if (sqlCode === '42501' || errno === 1044 || errno === 1142 || errno === 1227) {
    return new TracBackupError(
      'SERVER_PRIVILEGE_MISSING',
      `${user} lacks a privilege on ${server} for ${doing}: ${words}`,
      location.display,
      { cause: error },
    );
  }
  return new TracBackupError('DUMP_FAILED', `${server} failed while ${doing}: ${words}`, location.display, { cause: error });
}
