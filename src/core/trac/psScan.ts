import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import type { ProcessScan, UsingProcess } from './processScan';
import { describeCommand, mentionsPath } from './processScan';

/**
 * Every process's id, parent's id and command line, from `ps` (macOS and the BSDs, where there
 * is no /proc); undefined where `ps` cannot be run.
 */
export function readPsListing(): string | undefined {
  try {
    return execFileSync('ps', ['axww', '-o', 'pid=,ppid=,command='], { encoding: 'utf8', timeout: 5000, maxBuffer: 64 * 1024 * 1024 });
  } catch {
    return undefined;
  }
}

/**
 * The processes whose command line names one of `paths` (tracd takes the environment as an
 * argument), from a `ps` listing: what can be found without /proc. Open files are not looked at.
 * This process and the processes that started it are left out.
 */
export function findProcessesByCommandLine(paths: string[], readListing: () => string | undefined = readPsListing): ProcessScan {
  const listing = readListing();
  if (listing === undefined) {
    return { processes: [], unreadable: 0, supported: false };
  }
  const rows = listing
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(\d+)\s?(.*)$/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({ pid: Number(match[1]), ppid: Number(match[2]), command: match[3] }));
  const parents = new Map(rows.map((row) => [row.pid, row.ppid]));
  const skipped = new Set<number>();
  for (let pid: number | undefined = process.pid; pid !== undefined && pid > 1 && !skipped.has(pid); pid = parents.get(pid)) {
    skipped.add(pid);
  }
  const targets = [...new Set(paths.map((target) => path.resolve(target)))];
  const processes: UsingProcess[] = rows
    .filter((row) => !skipped.has(row.pid) && targets.some((target) => mentionsPath(row.command, target)))
    .map((row) => ({ pid: row.pid, command: describeCommand([row.command]), reason: 'command line' }));
  return { processes, unreadable: 0, supported: true };
}
