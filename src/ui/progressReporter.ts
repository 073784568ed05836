import * as vscode from 'vscode';
import { formatBytes } from '../core/format';
import { HotcopyPhase, HotcopyProgress } from '../core/progress';

const PHASE_LABELS: Record<HotcopyPhase, string> = {
  scan: 'Listing files',
  copy: 'Copying files',
  'catch-up': 'Copying recent changes',
  lock: 'Waiting for the database lock',
  snapshot: 'Snapshotting the database',
  finish: 'Finishing',
  verify: 'Checking the snapshot',
  publish: 'Publishing the backup',
};

const REPORT_INTERVAL_MS = 100;

/**
 * Turns the core's progress events into a notification's message and percentage:
 * the phase, the bytes done of the total, never going backwards, at most ten reports a second.
 */
export function notificationProgress(
  progress: vscode.Progress<{ message?: string; increment?: number }>,
): (event: HotcopyProgress) => void {
  let shownPercent = 0;
  let lastReport = 0;
  let lastPhase: HotcopyPhase | undefined;
  return (event) => {
    const now = Date.now();
    if (event.phase === lastPhase && now - lastReport < REPORT_INTERVAL_MS) {
      return;
    }
    lastPhase = event.phase;
    lastReport = now;
    const percent = event.bytesTotal > 0 ? Math.min(99, Math.floor((event.bytesDone / event.bytesTotal) * 100)) : 0;
    const increment = Math.max(0, percent - shownPercent);
    shownPercent += increment;
    const bytes = event.bytesTotal > 0 ? ` — ${formatBytes(event.bytesDone)} of ${formatBytes(event.bytesTotal)}` : '';
    progress.report({ message: `${PHASE_LABELS[event.phase]}${bytes} (${shownPercent}%)`, increment });
  };
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
