import * as vscode from 'vscode';
import { formatBytes } from '../core';
import type { ArchivePhase, HotcopyPhase, Progress, RestorePhase, SendPhase, VerifyPhase } from '../core';

/** A phase of any of the core's long operations. */
export type OperationPhase = HotcopyPhase | RestorePhase | VerifyPhase | ArchivePhase | SendPhase;

/** What every long operation of the core reports (see the core's Progress): its phase and bytes. */
export type PhaseProgress = Pick<Progress<OperationPhase>, 'phase' | 'bytesDone' | 'bytesTotal'>;

/** What each phase of the core's operations is called in a notification. */
const PHASE_LABELS: Record<OperationPhase, string> = {
  // hotcopy
  scan: 'Listing files',
  copy: 'Copying files',
  'catch-up': 'Copying recent changes',
  lock: 'Waiting for the database lock',
  snapshot: 'Snapshotting the database',
  finish: 'Finishing',
  verify: 'Checking the copy',
  publish: 'Publishing the backup',
  // restore
  check: 'Checking the backup',
  recover: 'Looking for unfinished restores',
  swap: 'Swapping the environment in',
  // verify
  database: 'Checking the database',
  files: 'Checking files',
  // archives
  archive: 'Archiving',
  extract: 'Unpacking',
  // offsite
  send: 'Sending to the offsite repository',
};

const REPORT_INTERVAL_MS = 100;

/**
 * Turns the core's progress events into a notification's message and percentage: the phase, the
 * bytes done of the total, never going backwards, at most ten reports a second. Operations whose
 * bytes start again in each phase (restore, verify) pass `phaseWeights`: the share of the bar each
 * phase takes, in order.
 */
export function notificationProgress(
  progress: vscode.Progress<{ message?: string; increment?: number }>,
  phaseWeights?: Partial<Record<OperationPhase, number>>,
): (event: PhaseProgress) => void {
  let shownPercent = 0;
  let lastReport = 0;
  let lastPhase: OperationPhase | undefined;
  return (event) => {
    const now = Date.now();
    if (event.phase === lastPhase && now - lastReport < REPORT_INTERVAL_MS) {
      return;
    }
    lastPhase = event.phase;
    lastReport = now;
    const fraction = event.bytesTotal > 0 ? event.bytesDone / event.bytesTotal : 0;
    const percent = Math.min(99, Math.floor(100 * (phaseWeights ? weighted(phaseWeights, event.phase, fraction) : fraction)));
    const increment = Math.max(0, percent - shownPercent);
    shownPercent += increment;
    const bytes = event.bytesTotal > 0 ? ` — ${formatBytes(event.bytesDone)} of ${formatBytes(event.bytesTotal)}` : '';
    progress.report({ message: `${PHASE_LABELS[event.phase] ?? event.phase}${bytes} (${shownPercent}%)`, increment });
  };
}

function weighted(weights: Partial<Record<OperationPhase, number>>, phase: OperationPhase, fraction: number): number {
  const phases = Object.keys(weights) as OperationPhase[];
  const weightOf = (name: OperationPhase) => weights[name] ?? 0;
  const total = phases.reduce((sum, name) => sum + weightOf(name), 0);
  const before = phases.slice(0, Math.max(0, phases.indexOf(phase))).reduce((sum, name) => sum + weightOf(name), 0);
  return (before + weightOf(phase) * fraction) / total;
}

/** An AbortSignal that fires when the VS Code token is cancelled. */
export function abortSignalFor(token: vscode.CancellationToken): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const subscription = token.onCancellationRequested(() => controller.abort());
  if (token.isCancellationRequested) {
    controller.abort();
  }
  return {
    signal: controller.signal,
    dispose: () => {
      subscription.dispose();
    },
  };
}

/** A reporter for the notification, with the share each phase takes of its bar (restore, verify). */
export type ReporterFor = (phaseWeights?: Partial<Record<OperationPhase, number>>) => (event: PhaseProgress) => void;

/**
 * Runs a long operation of the core under a cancellable notification titled `title`: `work` gets
 * the AbortSignal its Cancel button fires, and makes the reporter(s) its progress goes to.
 */
export function withNotificationProgress<T>(
  title: string,
  work: (signal: AbortSignal, reporterFor: ReporterFor) => Promise<T>,
): Thenable<T> {
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title, cancellable: true },
    async (progress, token) => {
      const abort = abortSignalFor(token);
      try {
        return await work(abort.signal, (phaseWeights) => notificationProgress(progress, phaseWeights));
      } finally {
        abort.dispose();
      }
    },
  );
}
