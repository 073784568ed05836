import * as vscode from 'vscode';
import { formatBytes } from '../core/shared/format';

/** What every long operation of the core reports: its phase and bytes. */
export interface PhaseProgress {
  phase: string;
  bytesDone: number;
  bytesTotal: number;
}

/** What each phase of the core's operations is called in a notification. */
const PHASE_LABELS: Record<string, string> = {
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
  phaseWeights?: Record<string, number>,
): (event: PhaseProgress) => void {
  let shownPercent = 0;
  let lastReport = 0;
  let lastPhase: string | undefined;
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

function weighted(weights: Record<string, number>, phase: string, fraction: number): number {
  const phases = Object.keys(weights);
  const total = phases.reduce((sum, name) => sum + weights[name], 0);
  const before = phases.slice(0, Math.max(0, phases.indexOf(phase))).reduce((sum, name) => sum + weights[name], 0);
  return (before + (weights[phase] ?? 0) * fraction) / total;
}

/** An AbortSignal that fires when the VS Code token is cancelled. */
export function abortSignalFor(token: vscode.CancellationToken): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const subscription = token.onCancellationRequested(() => controller.abort());
  if (token.isCancellationRequested) {
    controller.abort();
  }
  return { signal: controller.signal, dispose: () => subscription.dispose() };
}
