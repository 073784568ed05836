// The words of a PostgreSQL or MySQL/MariaDB environment's Database row in the tree. Kept free of
// `vscode` so that unit tests can read exactly what a person sees.
import { EnvironmentDetails, formatBytes } from '../core';

export interface ServerDatabaseWording {
  description: string;
  tooltip?: string;
  /** False when the server could not be reached (the row gets a warning icon). */
  reachable: boolean;
}

/** `display` is the database's scheme, server and name (never the password). */
export function serverDatabaseWording(display: string, server: EnvironmentDetails['server']): ServerDatabaseWording {
  if (!server) {
    return { description: display, reachable: true };
  }
  if (!server.reachable) {
    return { description: `${display} (unreachable)`, tooltip: server.error, reachable: false };
  }
  const parts = [display];
  if (server.bytes !== undefined) {
    parts.push(formatBytes(server.bytes));
  }
  if (server.version) {
    parts.push(`version ${server.version}`);
  }
  const tooltip = [
    display,
    server.tickets !== undefined ? `${server.tickets} tickets` : undefined,
    server.wikiPages !== undefined ? `${server.wikiPages} wiki pages` : undefined,
  ]
    .filter(Boolean)
    .join(', ');
  return { description: parts.join(' · '), tooltip, reachable: true };
}
