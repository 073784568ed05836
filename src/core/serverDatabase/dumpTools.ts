import { execFile } from 'node:child_process';
import { promises as fs, constants as fsConstants } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { TracBackupError } from '../shared/errors';

export type ServerKind = 'postgres' | 'mysql';

/** The tools of each kind, in the order they are looked for on PATH. */
const TOOL_NAMES = {
  postgres: { dump: ['pg_dump'], restore: ['pg_restore'], shell: ['psql'] },
  mysql: { dump: ['mariadb-dump', 'mysqldump'], restore: [], shell: ['mariadb', 'mysql'] },
} as const;

export type ToolRole = 'dump' | 'restore' | 'shell';

const INSTALL_HINTS: Record<ServerKind, string> = {
  postgres:
    'install the PostgreSQL client tools (Debian/Ubuntu: sudo apt-get install postgresql-client; Fedora: sudo dnf install postgresql; ' +
    'macOS: brew install libpq, then brew link --force libpq), or name the tool in trac.ini: [trac] pg_dump_path',
  mysql:
    'install the MariaDB or MySQL client tools (Debian/Ubuntu: sudo apt-get install mariadb-client; Fedora: sudo dnf install mariadb; ' +
    'macOS: brew install mariadb), or name the tool in trac.ini: [trac] mysqldump_path',
};

async function executable(file: string): Promise<boolean> {
  try {
    const stats = await fs.stat(file);
    if (!stats.isFile()) {
      return false;
    }
    await fs.access(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first of `names` on PATH, as an absolute path. */
async function onPath(names: readonly string[]): Promise<string | undefined> {
  const folders = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const name of names) {
    for (const folder of folders) {
      const candidate = path.join(folder, name);
      if (await executable(candidate)) {
        return candidate;
      }
    }
  }
  return undefined;
}

/**
 * Finds a tool of the database's own: for the dump tool, where trac.ini's `[trac] pg_dump_path`
 * / `mysqldump_path` say (a name is looked for on PATH, as Trac does), else on PATH. The other
 * tools (pg_restore, psql, mariadb) are looked for beside the configured dump tool first.
 */
export async function findTool(kind: ServerKind, role: ToolRole, configuredDump?: string): Promise<string> {
  const names = TOOL_NAMES[kind][role];
  const trimmed = configuredDump?.trim();
  // trac.ini's defaults (pg_dump, mysqldump) are just names: where mysqldump is missing, mariadb-dump does.
  const configured = trimmed === 'pg_dump' || trimmed === 'mysqldump' ? undefined : trimmed;
  if (configured) {
    const dumpTool = configured.includes('/') ? path.resolve(configured) : await onPath([configured]);
    if (role === 'dump') {
      if (dumpTool && (await executable(dumpTool))) {
        return dumpTool;
      }
      throw new TracBackupError(
        'DUMP_TOOL_MISSING',
        `trac.ini names ${configured} as the ${kind === 'postgres' ? 'pg_dump' : 'mysqldump'} to use ([trac] ${kind === 'postgres' ? 'pg_dump_path' : 'mysqldump_path'}), ` +
          `but it is not an executable file: correct it, or ${INSTALL_HINTS[kind]}.`,
        dumpTool ?? configured,
      );
    }
    if (dumpTool) {
      for (const name of names) {
        const beside = path.join(path.dirname(dumpTool), name);
        if (await executable(beside)) {
          return beside;
        }
      }
    }
  }
  const found = await onPath(names);
  if (found) {
    return found;
  }
  const wanted = kind === 'mysql' && role === 'dump' ? 'mariadb-dump (or mysqldump)' : kind === 'mysql' ? 'mariadb (or mysql)' : names[0];
  throw new TracBackupError('DUMP_TOOL_MISSING', `${wanted} was not found on PATH: ${INSTALL_HINTS[kind]}.`, wanted);
}

/** The version a tool prints (`pg_dump (PostgreSQL) 15.18`, `mariadb-dump Ver 10.19 Distrib 10.11.19-MariaDB`). */
export async function toolVersion(tool: string): Promise<string> {
  const output = await promisify(execFile)(tool, ['--version'], { timeout: 10000, encoding: 'utf8' })
    .then(({ stdout }) => stdout)
    .catch((error: unknown) => {
      throw new TracBackupError('DUMP_TOOL_MISSING', `${tool} --version failed (${String(error)}): check the tool.`, tool, {
        cause: error,
      });
    });
  return output.trim();
}

/** major.minor of a version text: `15.18` → [15, 18]; `Distrib 10.11.19-MariaDB` → [10, 11]. */
export function versionNumbers(text: string): [number, number] | undefined {
  const distrib = /Distrib (\d+)\.(\d+)/.exec(text);
  const match = distrib ?? /(\d+)\.(\d+)/.exec(text);
  return match ? [Number(match[1]), Number(match[2])] : undefined;
}

/**
 * Refuses a dump tool older than the server: pg_dump refuses a newer server itself, and an
 * older mysqldump may dump a newer server's tables wrongly. `compare` is 'major' for PostgreSQL
 * (pg_dump 15 dumps any 15.x) and 'minor' for MariaDB/MySQL.
 */
export function requireToolNotOlder(
  tool: string,
  toolText: string,
  serverText: string,
  compare: 'major' | 'minor',
  serverName: string,
): void {
  const toolVersionNumbers = versionNumbers(toolText);
  const serverVersionNumbers = versionNumbers(serverText);
  if (!toolVersionNumbers || !serverVersionNumbers) {
    return;
  }
  const older =
    toolVersionNumbers[0] < serverVersionNumbers[0] ||
    (compare === 'minor' && toolVersionNumbers[0] === serverVersionNumbers[0] && toolVersionNumbers[1] < serverVersionNumbers[1]);
  if (older) {
    const shown = (numbers: [number, number]) => (compare === 'major' ? `${numbers[0]}` : numbers.join('.'));
    throw new TracBackupError(
      'DUMP_TOOL_TOO_OLD',
      `${tool} is version ${shown(toolVersionNumbers)}, older than the ${serverName} server (${shown(serverVersionNumbers)}): ` +
        `install the client tools of version ${shown(serverVersionNumbers)} or newer and name them in trac.ini ` +
        `([trac] ${compare === 'major' ? 'pg_dump_path' : 'mysqldump_path'}).`,
      tool,
    );
  }
}
