// Runs test/support/tracOpen.py: what Trac 1.6 does to an environment's files when it opens one and
// serves a request that writes (Trac itself cannot be installed where the tests run).
import { SpawnSyncReturns, execFileSync, spawnSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import * as path from 'node:path';

const SCRIPT = path.resolve(__dirname, '..', '..', '..', 'test', 'support', 'tracOpen.py');
export const PYTHON = '/usr/bin/python3';

/** The Node 22 of the `node` devDependency, by its real path (another user runs it too). */
export const NODE_22 = realpathSync(path.resolve(__dirname, '..', '..', '..', 'node_modules', 'node', 'bin', 'node'));

/** The user a Trac environment belongs to in these tests, as a web server's user would. */
export const OWNER = { name: 'nobody', uid: 65534, gid: 65534 };

export interface TracOpened {
  ok: boolean;
  /** What the script printed: its JSON result, or the line saying what failed. */
  output: string;
  result?: { databaseVersion: string; ticket: number; attachment: string; log: string | null; uid: number };
}

/** Runs a command as `user` (runuser: the test runs as root). */
export function runAs(user: string, command: string, args: string[]): SpawnSyncReturns<string> {
  return spawnSync('runuser', ['-u', user, '--', command, ...args], { encoding: 'utf8' });
}

/** Opens `environment` as Trac would, as `user`, and creates a ticket with an attachment in it. */
export function openInTrac(environment: string, user = OWNER.name): TracOpened {
  const run = runAs(user, PYTHON, [SCRIPT, environment]);
  if (run.status === 0) {
    return { ok: true, output: run.stdout.trim(), result: JSON.parse(run.stdout) as TracOpened['result'] };
  }
  return { ok: false, output: `${run.stderr}${run.stdout}`.trim() || String(run.error) };
}

/** Gives a tree to the environments' owner, as `chown -R` does. */
export function chownToOwner(tree: string): void {
  execFileSync('chown', ['-R', `${OWNER.uid}:${OWNER.gid}`, tree]);
}
