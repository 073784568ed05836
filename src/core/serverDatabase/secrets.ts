import { ServerDatabaseLocation } from '../trac/databaseUrl';

/**
 * The password of a server database reaches a dump or restore tool only through the child's
 * environment (PGPASSWORD, MYSQL_PWD): never its argv, which every user sees in `ps`.
 */
export function passwordEnvironment(location: ServerDatabaseLocation): Record<string, string> {
  if (location.password === undefined) {
    return {};
  }
  return location.kind === 'postgres' ? { PGPASSWORD: location.password } : { MYSQL_PWD: location.password };
}

/**
 * Removes the password (as written and URL-quoted) from text a tool or a driver wrote, before it
 * goes into a message or a log.
 */
export function withoutSecret(text: string, location: Pick<ServerDatabaseLocation, 'password'>): string {
  const password = location.password;
  if (!password) {
    return text;
  }
  let result = text;
  for (const form of new Set([password, encodeURIComponent(password)])) {
    result = result.split(form).join('***');
  }
  return result;
}
