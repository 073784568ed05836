import { promises as fs } from 'node:fs';
import { describeError, errnoCode } from '../shared/errors';

/**
 * Renames and removals that wait out a moment's "in use". On Windows an antivirus scan, the
 * search indexer, or any open handle (Trac's database or log, a terminal or an editor with the
 * folder open) makes a rename or a delete fail with EPERM, EACCES or EBUSY for a moment; there
 * these are retried with backoff. On POSIX EPERM and EACCES are permissions, which waiting does
 * not change: only EBUSY is retried there.
 */

/** How long a rename or a removal keeps trying by default, in ms. */
export const RETRY_BUDGET_MS = 10_000;

/** What the file system operations of this module call: the real ones, or a test's (see setFsRetrySeam). */
export interface FsRetrySeam {
  rename(from: string, to: string): Promise<void>;
  rm(target: string): Promise<void>;
  /** The platform whose rules apply (a test plays Windows on Linux). */
  platform: NodeJS.Platform;
  /** The waits between attempts, in ms (a test shortens them). */
  delays: readonly number[];
  /** How long an operation keeps trying when its caller does not say, in ms. */
  budgetMs: number;
}

const DEFAULT_DELAYS = [10, 20, 40, 80, 160, 320, 640, 1000];

const realSeam: FsRetrySeam = {
  rename: (from, to) => fs.rename(from, to),
  rm: (target) => fs.rm(target, { recursive: true, force: true }),
  platform: process.platform,
  delays: DEFAULT_DELAYS,
  budgetMs: RETRY_BUDGET_MS,
};

let seam: FsRetrySeam = realSeam;

/** For tests: replaces some of the seam (e.g. a rename that fails with EBUSY the first N times); undefined puts the real one back. */
export function setFsRetrySeam(replacement: Partial<FsRetrySeam> | undefined): void {
  seam = replacement ? { ...realSeam, ...replacement } : realSeam;
}

/** The platform whose file-system rules apply (a test plays Windows on Linux through the seam). */
export function fsPlatform(): NodeJS.Platform {
  return seam.platform;
}

/** True for an error that a moment's wait may cure on this platform (see the module's comment). */
export function isTransientFsError(error: unknown, platform: NodeJS.Platform = seam.platform): boolean {
  const code = errnoCode(error);
  if (code === 'EBUSY') {
    return true;
  }
  return platform === 'win32' && (code === 'EPERM' || code === 'EACCES');
}

export interface RetryOptions {
  /** Keeps trying this long, in ms (RETRY_BUDGET_MS by default). */
  budgetMs?: number;
  signal?: AbortSignal;
}

/** Runs attempt until it succeeds, fails for good, or the budget is spent; the last error is thrown. */
export async function retryTransient<T>(attempt: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const budget = options.budgetMs ?? seam.budgetMs;
  const started = performance.now();
  for (let tries = 0; ; tries++) {
    try {
      return await attempt();
    } catch (error) {
      const waited = performance.now() - started;
      if (!isTransientFsError(error) || waited >= budget || options.signal?.aborted) {
        throw error;
      }
      const delays = seam.delays;
      await sleep(Math.min(delays[Math.min(tries, delays.length - 1)], Math.max(budget - waited, 0)));
    }
  }
}

/** fs.rename, retried while the file or folder is in use for a moment. */
export function renameWithRetry(from: string, to: string, options?: RetryOptions): Promise<void> {
  return retryTransient(() => seam.rename(from, to), options);
}

/** fs.rm (recursive, missing is fine), retried while something is in use for a moment. */
export function removeWithRetry(target: string, options?: RetryOptions): Promise<void> {
  return retryTransient(() => seam.rm(target), options);
}

/**
 * What to say when a rename or a removal stayed refused: that something holds the folder, and
 * what it usually is, where that is the likely cause (a transient code); undefined otherwise.
 */
export function inUseHint(error: unknown, file: string): string | undefined {
  if (!isTransientFsError(error)) {
    return undefined;
  }
  return (
    `${file} stayed in use (${describeError(error)}): something holds it or a file in it open — Trac itself (tracd, Apache), ` +
    'a terminal or an editor whose folder is inside, an antivirus scan or the search indexer. Close it and try again.'
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
