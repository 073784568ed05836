import { existsSync } from 'node:fs';
import { errnoCode } from '../shared/errors';
import { processStartMs, processStartMsFromPs } from '../trac/processScan';

/** True when a process with this id runs on this machine (a process of another user counts). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoCode(error) === 'EPERM';
  }
}

/**
 * Where a process's start time cannot be learnt (Windows: no /proc, no ps), a live id on work
 * older than this is taken for an id used again by a later process: no run of this tool lasts a day.
 */
export const UNKNOWN_START_STALE_MS = 24 * 60 * 60 * 1000;

/** What the liveness rule asks of the machine (a test gives a stubbed /proc root, or no start times at all). */
export interface ProcessClock {
  alive(pid: number): boolean;
  /** When the process started (ms since the epoch), or undefined where this machine cannot say. */
  startMs(pid: number): number | undefined;
  now(): number;
}

/** /proc on Linux; `ps -o etime=` where there is no /proc (macOS, the BSDs); nothing on Windows. */
export function machineClock(procRoot = '/proc', platform: NodeJS.Platform = process.platform): ProcessClock {
  const hasProc = existsSync(procRoot + '/stat');
  return {
    alive: processAlive,
    startMs: (pid) => (hasProc ? processStartMs(pid, procRoot) : platform === 'win32' ? undefined : processStartMsFromPs(pid)),
    now: () => Date.now(),
  };
}

let defaultClock: ProcessClock | undefined;

/**
 * Whether the process whose id a work folder carries is still working on it. This process owns
 * it only while `inUseHere` says so (the extension host lives on after a failed task); another
 * id counts when that process is alive and not younger than the folder (an id used again by a
 * process started later does not). Where no start time can be had, a live id counts for
 * UNKNOWN_START_STALE_MS after the folder was made, not for ever.
 */
export function workOwnerRunning(
  pid: number,
  folderMadeMs: number,
  inUseHere: boolean,
  clock: ProcessClock = (defaultClock ??= machineClock()),
): boolean {
  if (pid === process.pid) {
    return inUseHere;
  }
  if (!clock.alive(pid)) {
    return false;
  }
  if (!Number.isFinite(folderMadeMs)) {
    return true;
  }
  const started = clock.startMs(pid);
  if (started === undefined) {
    return clock.now() - folderMadeMs < UNKNOWN_START_STALE_MS;
  }
  return started <= folderMadeMs + 2000;
}
