import * as vscode from 'vscode';
import { formatBytes } from '../core';
import { VIEW_ID } from './environmentTree';
import type { ArchivePhase, HotcopyPhase, Progress, RestorePhase, SendPhase, VerifyPhase } from '../core';

/** A phase of any of the core's long operations. */
export type OperationPhase = HotcopyPhase | RestorePhase | VerifyPhase | ArchivePhase | SendPhase;

/** What every long operation of the core reports (see the core's Progress): its phase and bytes. */
export type PhaseProgress = Pick<Progress<OperationPhase>, 'phase' | 'bytesDone' | 'bytesTotal'> &
  Partial<Pick<Progress<OperationPhase>, 'filesDone' | 'filesTotal'>>;

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
    const done = amountsDone(event);
    progress.report({ message: `${PHASE_LABELS[event.phase] ?? event.phase}${done ? ` — ${done}` : ''} (${shownPercent}%)`, increment });
  };
}

/**
 * "3 of 52 files, 0.4 of 1.2 MB": what is done of the total, both amounts in the total's unit;
 * nothing while none of it is done yet (a database check before the files, say).
 */
export function amountsDone(event: PhaseProgress): string {
  const parts: string[] = [];
  if (event.filesTotal && event.filesDone) {
    parts.push(`${event.filesDone} of ${event.filesTotal} files`);
  }
  if (event.bytesTotal > 0 && event.bytesDone > 0) {
    parts.push(bytesOf(event.bytesDone, event.bytesTotal));
  }
  return parts.join(', ');
}

/** "0.4 of 1.2 MB" (the unit formatBytes gives the total). */
function bytesOf(done: number, total: number): string {
  const [amount, unit] = formatBytes(total).split(' ');
  const scale = 1024 ** Math.max(0, ['B', 'KB', 'MB', 'GB', 'TB'].indexOf(unit));
  const digits = amount.includes('.') ? 1 : 0;
  return `${(Math.min(done, total) / scale).toFixed(digits)} of ${amount} ${unit}`;
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

/** How long a status bar message (a result that needs nothing from the user) stays. */
export const STATUS_MESSAGE_MS = 5000;

/** After how long a job's progress moves from the view into a cancellable notification. */
const NOTIFY_AFTER_MS = 1000;

/** Short work (delete, prune): the Trac view's progress bar, no notification. */
export function withViewProgress<T>(title: string, work: () => Promise<T>): Thenable<T> {
  return vscode.window.withProgress({ location: { viewId: VIEW_ID }, title }, () => work());
}

/**
 * A vscode.Progress that keeps what is reported until a notification exists to show it, then
 * hands it over (the message and the increments so far) and forwards the rest.
 */
class DeferredProgress implements vscode.Progress<{ message?: string; increment?: number }> {
  private target: vscode.Progress<{ message?: string; increment?: number }> | undefined;
  private message: string | undefined;
  private increment = 0;

  report(value: { message?: string; increment?: number }): void {
    if (this.target) {
      this.target.report(value);
      return;
    }
    this.message = value.message ?? this.message;
    this.increment += value.increment ?? 0;
  }

  attach(target: vscode.Progress<{ message?: string; increment?: number }>): void {
    this.target = target;
    target.report({ message: this.message, increment: this.increment });
  }
}

/**
 * A job's progress in the Trac view at once and, when it lasts longer than a second, in a
 * cancellable notification titled `title` (a sub-second job never flashes one); Cancel aborts
 * `controller`. done() ends both. For a job in parts with a question between them (Restore from
 * Archive: unpack, the prompt, restore), one per part; withNotificationProgress for the others.
 */
export class QuietProgress {
  private readonly deferred = new DeferredProgress();
  private finish!: () => void;
  private readonly finished = new Promise<void>((resolve) => (this.finish = resolve));
  private readonly timer: ReturnType<typeof setTimeout>;

  constructor(title: string, controller: AbortController) {
    void vscode.window.withProgress({ location: { viewId: VIEW_ID } }, () => this.finished);
    this.timer = setTimeout(() => {
      void vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title, cancellable: true },
        async (progress, token) => {
          this.deferred.attach(progress);
          const abort = token.onCancellationRequested(() => controller.abort());
          try {
            await this.finished;
          } finally {
            abort.dispose();
          }
        },
      );
    }, NOTIFY_AFTER_MS);
  }

  /** A reporter of the core's progress events, with the share each phase takes of the bar. */
  readonly reporterFor: ReporterFor = (phaseWeights) => notificationProgress(this.deferred, phaseWeights);

  done(): void {
    clearTimeout(this.timer);
    this.finish();
  }
}

/**
 * Runs an operation of the core with its progress as QuietProgress shows it: `work` gets the
 * AbortSignal the notification's Cancel fires, and makes the reporter(s) its progress goes to.
 */
export async function withNotificationProgress<T>(
  title: string,
  work: (signal: AbortSignal, reporterFor: ReporterFor) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const progress = new QuietProgress(title, controller);
  try {
    return await work(controller.signal, progress.reporterFor);
  } finally {
    progress.done();
  }
}
