import { OffsiteRepository, shownLocation } from './resticRepository';
import { runRestic } from './resticProcess';
import { OffsiteLockedError } from './resticErrors';

export interface RepositoryCheck {
  repository: string;
  ok: boolean;
  /** What restic found wrong (its lines), none when ok. */
  problems: string[];
  /** restic's report, line by line. */
  report: string[];
  durationMs: number;
}

/**
 * `restic check`: the repository's structure (every snapshot's trees and the index), and with
 * `readData` that share of the data read back and checked (`--read-data-subset`, e.g. "10%").
 * A repository with errors is a result (ok false, restic's lines), not a thrown error; one that
 * cannot be opened or is locked throws as any restic run does.
 */
export async function checkRepository(
  repository: OffsiteRepository,
  options: { readData?: string; signal?: AbortSignal } = {},
): Promise<RepositoryCheck> {
  const started = performance.now();
  const output = await runRestic(repository, {
    args: ['check', ...(options.readData ? [`--read-data-subset=${options.readData}`] : [])],
    signal: options.signal,
    what: 'The check of the offsite repository',
    okExit: (result) => /check snapshots, trees and blobs|Fatal: repository contains errors/.test(result.stdout + result.stderr),
  });
  const report = `${output.stdout}\n${output.stderr}`
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line.trim() && !line.startsWith('using temporary cache'));
  const problems = output.code === 0 ? [] : report.filter((line) => /error|damaged|missing|invalid|not referenced|Fatal/i.test(line));
  return {
    repository: shownLocation(repository.location),
    ok: output.code === 0,
    problems: output.code === 0 ? [] : problems.length > 0 ? problems : report.slice(-5),
    report,
    durationMs: Math.round(performance.now() - started),
  };
}

/** `restic init`: a new repository at the location, with the password given (see OffsiteRepository). */
export async function initRepository(
  repository: OffsiteRepository,
  options: { signal?: AbortSignal } = {},
): Promise<{ repository: string }> {
  await runRestic(repository, { args: ['init'], signal: options.signal, what: 'The initialisation of the offsite repository' });
  return { repository: shownLocation(repository.location) };
}

/**
 * `restic unlock`: removes the locks restic calls stale (their process is gone from its machine,
 * or they are older than 30 minutes), never a live one's.
 */
export async function unlockStaleLocks(
  repository: OffsiteRepository,
  options: { signal?: AbortSignal } = {},
): Promise<{ repository: string }> {
  await runRestic(repository, { args: ['unlock'], signal: options.signal, what: 'The removal of stale locks' });
  return { repository: shownLocation(repository.location) };
}

/**
 * Runs `work`, and while the repository is locked by another live process, waits and runs it
 * again (every `everyMs`) until it goes through or the signal fires: "wait for the lock".
 */
export async function whileLocked<T>(
  work: () => Promise<T>,
  options: { signal?: AbortSignal; everyMs?: number; onWaiting?: (message: string) => void } = {},
): Promise<T> {
  for (;;) {
    try {
      return await work();
    } catch (error) {
      const locked = error instanceof OffsiteLockedError && !error.holder.stale;
      if (!locked || options.signal?.aborted) {
        throw error;
      }
      options.onWaiting?.(error.message);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, options.everyMs ?? 5000);
        options.signal?.addEventListener('abort', done, { once: true });
        function done() {
          clearTimeout(timer);
          options.signal?.removeEventListener('abort', done);
          resolve();
        }
      });
    }
  }
}
