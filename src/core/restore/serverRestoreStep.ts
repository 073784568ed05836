import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TracBackupError } from '../shared/errors';
import { ServerDatabaseLocation } from '../trac/databaseUrl';
import { postgresSchemas } from '../postgres/postgresRestore';
import { mysqlRestoreNames } from '../mysql/mysqlRestore';
import {
  ServerDump,
  ServerRestoreTarget,
  planServerRestore,
  refuseOtherConnections,
  restoreServerDatabase,
  tidyServerLeftovers,
} from './serverRestore';
import { serverWorkFolder } from '../serverDatabase/serverDump';

/** The server side of a restore, decided before anything changes. */
export interface PreparedServer {
  target: ServerRestoreTarget;
  /** What was found of killed restores (said in the result). */
  notes: string[];
}

interface ServerJournal {
  backup: string;
  environment: string;
  display: string;
  kind: 'postgres' | 'mysql';
  aside: string | null;
  pid: number;
  host: string;
  startedAt: string;
}

/** Beside the environment, as the folder swap's journal is: the database step under way. */
function serverJournalPath(env: string): string {
  return path.join(path.dirname(env), `.${path.basename(env)}.trac-backup-server-restore.json`);
}

export async function removeServerJournal(env: string): Promise<void> {
  await fs.rm(serverJournalPath(env), { force: true });
}

async function asideExists(location: ServerDatabaseLocation, aside: string): Promise<boolean> {
  if (location.kind === 'postgres') {
    return (await postgresSchemas(location)).asides.includes(aside);
  }
  return (await mysqlRestoreNames(location)).asides.includes(aside);
}

/**
 * Plans the database step and refuses what the options do not allow (other connections unless
 * forced); deals first with what a killed restore left: says whether it had replaced the
 * database (its aside is there) or not (nothing changed), and removes its scratch database.
 */
export async function prepareServerTarget(
  dump: ServerDump,
  env: string,
  options: { databaseUrl?: string; now?: Date; inPlace?: boolean; force?: boolean },
): Promise<PreparedServer> {
  const target = await planServerRestore(dump, env, options);
  const notes = await tidyServerLeftovers(target);
  const journal = await fs
    .readFile(serverJournalPath(env), 'utf8')
    .then((text) => JSON.parse(text) as ServerJournal)
    .catch(() => undefined);
  if (journal) {
    const replaced =
      journal.aside !== null && journal.display === target.plan.display && (await asideExists(target.location, journal.aside));
    notes.push(
      replaced
        ? `A restore of ${journal.backup} (process ${journal.pid}) was stopped after it had replaced the database ${journal.display} ` +
            `(the data there before is kept as ${journal.aside}) and before it had put the files back: this run restores both again.`
        : `A restore of ${journal.backup} (process ${journal.pid}) was stopped before it had replaced the database ${journal.display}: ` +
            'nothing of it had changed.',
    );
    await removeServerJournal(env);
  }
  if (!options.force) {
    refuseOtherConnections(target);
  }
  return { target, notes };
}

/** The refusal of a restore into a database that holds a Trac already, without --yes. */
export function serverTargetExists(target: ServerRestoreTarget): TracBackupError {
  const { plan } = target;
  const holds = plan.holdsNow;
  return new TracBackupError(
    'TARGET_EXISTS',
    `${plan.display} holds a Trac database already (${holds?.tickets ?? '?'} tickets, ${holds?.wikiPages ?? '?'} wiki pages): restoring replaces it` +
      (plan.aside ? ` (kept as ${plan.aside})` : '') +
      '. Confirm with --yes (replace), or name another database with --database-url.',
    plan.display,
  );
}

/**
 * The database step, before the folders are swapped: a journal beside the environment says it is
 * under way (a run killed meanwhile is reported by the next), then the atomic load and swap.
 */
export async function swapServerDatabase(
  dump: ServerDump,
  target: ServerRestoreTarget,
  env: string,
  backup: string,
  signal?: AbortSignal,
): Promise<{ aside: string | null }> {
  const journal: ServerJournal = {
    backup,
    environment: env,
    display: target.plan.display,
    kind: target.plan.kind,
    aside: target.plan.aside,
    pid: process.pid,
    host: os.hostname(),
    startedAt: new Date().toISOString(),
  };
  await fs.writeFile(serverJournalPath(env), `${JSON.stringify(journal, null, 2)}\n`, { mode: 0o600 });
  const work = await serverWorkFolder();
  try {
    return await restoreServerDatabase(dump, target, work, signal);
  } catch (error) {
    // The database step is whole or nothing: failed, it changed nothing.
    await removeServerJournal(env);
    throw error;
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}
