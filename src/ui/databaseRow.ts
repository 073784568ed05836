// The words of an environment's Database row in the tree (SQLite, PostgreSQL, MySQL/MariaDB).
// Kept free of `vscode` so that unit tests can read exactly what a person sees. The description
// holds what a person scans for and fits the default sidebar width (the database's name and size,
// or why not); the rest (URL, server, Trac's database version, contents) is in the tooltip.
import * as path from 'node:path';
import { EnvironmentDetails, TracEnvironment, formatBytes } from '../core';

export interface DatabaseRowWording {
  description: string;
  tooltip?: string;
  /** False when the database cannot be read now (the row gets a warning icon). */
  reachable: boolean;
}

const SERVER_KINDS = { postgres: 'PostgreSQL', mysql: 'MySQL/MariaDB' } as const;

/** The Database row of `environment`, or none when its trac.ini names no database it understands. */
export function databaseRowWording(environment: TracEnvironment, details: EnvironmentDetails | undefined): DatabaseRowWording | undefined {
  const database = environment.database;
  if (!database) {
    return undefined;
  }
  if (database.kind === 'other') {
    return {
      description: `${database.scheme}: not supported`,
      tooltip: `${database.display}: not SQLite, PostgreSQL or MySQL, so it cannot be backed up yet.`,
      reachable: true,
    };
  }
  if (database.kind !== 'sqlite') {
    return serverDatabaseWording(database.kind, database.database, database.display, details?.server);
  }
  const info = details?.database;
  if (!info) {
    return undefined;
  }
  // A file outside the environment is named by its file name; its full path is in the tooltip.
  const shown = database.external ? path.basename(database.file) : path.relative(environment.path, database.file);
  const tooltip = [database.external ? `${database.file} (outside the environment folder)` : database.file];
  if (info.error) {
    return { description: `${shown} · unreadable`, tooltip: [...tooltip, `Cannot read it: ${info.error}`].join('\n'), reachable: false };
  }
  if (info.busy) {
    tooltip.push('Locked by another process (Trac writing?): its version is read at the next refresh.');
  }
  if (info.version) {
    tooltip.push(`Trac database version ${info.version}`);
  }
  if (info.bytes !== undefined) {
    tooltip.push(formatBytes(info.bytes));
  }
  const parts = [shown, ...(info.busy ? ['busy'] : info.bytes !== undefined ? [formatBytes(info.bytes)] : [])];
  return { description: parts.join(' · '), tooltip: tooltip.join('\n'), reachable: true };
}

/** `display` is the database's scheme, server and name (never the password). */
function serverDatabaseWording(
  kind: keyof typeof SERVER_KINDS,
  name: string,
  display: string,
  server: EnvironmentDetails['server'],
): DatabaseRowWording {
  const heading = `${SERVER_KINDS[kind]} database ${display}`;
  if (!server) {
    return { description: name, tooltip: heading, reachable: true };
  }
  if (!server.reachable) {
    return { description: `${name} · unreachable`, tooltip: [heading, server.error].filter(Boolean).join('\n'), reachable: false };
  }
  const contents = [
    server.tickets !== undefined ? `${server.tickets} tickets` : undefined,
    server.wikiPages !== undefined ? `${server.wikiPages} wiki pages` : undefined,
  ].filter(Boolean);
  const tooltip = [
    heading,
    server.version ? `Trac database version ${server.version}` : undefined,
    server.bytes !== undefined ? `${formatBytes(server.bytes)} of tables` : undefined,
    contents.length ? contents.join(', ') : undefined,
  ].filter(Boolean);
  const description = server.bytes !== undefined ? `${name} · ${formatBytes(server.bytes)}` : name;
  return { description, tooltip: tooltip.join('\n'), reachable: true };
}
