// The built CLI (dist/cli.js) as a child process a test can stop with real signals.
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { isWorkName } from '../../src/core/work/workFolder';
import { StartedChild, startNode } from './childProcess';
import { BUILT_CLI } from './cliRun';

const ROOT = path.resolve(__dirname, '..', '..', '..');

/** Builds dist/cli.js (only that bundle), for the tests that run it. */
export function buildCli(): void {
  execFileSync(process.execPath, ['scripts/build.mjs', '--only=cli'], { cwd: ROOT, stdio: 'pipe' });
}

/** Starts `trac-backup <args>` from dist/cli.js. */
export function startCli(args: string[]): StartedChild {
  return startNode([BUILT_CLI, ...args]);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` every few milliseconds until it is true; false when `child` ended first or time ran out. */
export async function waitUntil(check: () => Promise<boolean>, child?: StartedChild, timeoutMs = 30_000): Promise<boolean> {
  let ended = false;
  void child?.exited.then(() => (ended = true));
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await check()) {
      return true;
    }
    if (ended) {
      return false;
    }
    await sleep(2);
  }
  throw new Error(`waited ${timeoutMs} ms in vain`);
}

/** The temporary work (named as workFolder.ts names it) in `folder`. */
export async function workIn(folder: string): Promise<string[]> {
  const names = await fs.readdir(folder).catch(() => [] as string[]);
  return names.filter(isWorkName).sort();
}
