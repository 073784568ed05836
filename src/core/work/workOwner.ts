import { errnoCode } from '../shared/errors';
import { processStartMs } from '../trac/processScan';

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
 * Whether the process whose id a work folder carries is still working on it. This process owns
 * it only while `inUseHere` says so (the extension host lives on after a failed task); another
 * id counts when that process is alive and not younger than the folder (an id used again by a
 * process started later does not).
 */
export function workOwnerRunning(pid: number, folderMadeMs: number, inUseHere: boolean): boolean {
  if (pid === process.pid) {
    return inUseHere;
  }
  if (!processAlive(pid)) {
    return false;
  }
  const started = processStartMs(pid);
  return started === undefined || !Number.isFinite(folderMadeMs) || started <= folderMadeMs + 2000;
}
