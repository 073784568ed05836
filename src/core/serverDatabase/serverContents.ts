import { ServerDatabaseLocation } from '../trac/databaseUrl';
import { postgresContents } from '../postgres/postgresFacts';
import { mysqlContents } from '../mysql/mysqlFacts';
import { describeError } from '../shared/errors';
import { serverError } from './serverErrors';

export interface ServerContents {
  bytes: number;
  version?: string;
  tickets?: number;
  wikiPages?: number;
}

/** What the database holds now; errors say why it cannot be read (server down, login, missing). */
export async function readServerContents(location: ServerDatabaseLocation, timeoutMs = 5000, database?: string): Promise<ServerContents> {
  try {
    return location.kind === 'postgres'
      ? await postgresContents(location, timeoutMs, database)
      : await mysqlContents(location, timeoutMs, database);
  } catch (error) {
    throw serverError(error, location, 'reading the database');
  }
}

/**
 * For the list: reachable or not, quickly. A dead server (a host that drops packets) costs at
 * most `timeoutMs`; the connection is asynchronous, so the extension host never waits on it.
 */
export async function probeServer(
  location: ServerDatabaseLocation,
  timeoutMs = 1000,
): Promise<{ reachable: true; contents: ServerContents } | { reachable: false; error: string }> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs + 200);
  });
  try {
    return { reachable: true, contents: await Promise.race([readServerContents(location, timeoutMs), deadline]) };
  } catch (error) {
    return { reachable: false, error: describeError(serverError(error, location, 'reading the database')) };
  } finally {
    clearTimeout(timer);
  }
}
