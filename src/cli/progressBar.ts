import { formatBytes } from '../core';
import type { Progress, SweptWork } from '../core';
import { CliContext, CliStream } from './command';
import { writeSweptNote } from './sweptNote';

const REDRAW_MS = 100;
const BAR_WIDTH = 20;

/**
 * A one-line progress bar redrawn in place on a terminal, at most ten times a second.
 * Draws nothing when the stream is not a terminal (a log file, a pipe, cron).
 */
export class ProgressBar {
  private lastDraw = 0;
  private lastPhase = '';
  private drawn = false;

  constructor(private readonly stream: CliStream) {}

  get enabled(): boolean {
    return this.stream.isTTY === true;
  }

  /** Any command's progress: the phase is shown as it is named. */
  update(event: Progress): void {
    const now = Date.now();
    if (!this.enabled || (event.phase === this.lastPhase && now - this.lastDraw < REDRAW_MS)) {
      return;
    }
    this.lastDraw = now;
    this.lastPhase = event.phase;
    const ratio = event.bytesTotal > 0 ? Math.min(1, event.bytesDone / event.bytesTotal) : 0;
    const filled = Math.round(ratio * BAR_WIDTH);
    const bar = `${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}`;
    const line =
      `${event.phase.padEnd(8)} [${bar}] ${String(Math.floor(ratio * 100)).padStart(3)}%  ` +
      `${formatBytes(event.bytesDone)} / ${formatBytes(event.bytesTotal)}  ${event.filesDone}/${event.filesTotal} files`;
    const width = (this.stream.columns ?? 80) - 1;
    this.stream.write(`\r\x1b[2K${line.slice(0, width)}`);
    this.drawn = true;
  }

  /** Erases the bar, so that the next message starts on a clean line. */
  clear(): void {
    if (this.drawn) {
      this.stream.write('\r\x1b[2K');
      this.drawn = false;
    }
  }
}

/** What a verb hands the core: its progress, drawn on the bar, and a note for each leftover swept. */
export interface VerbProgress {
  onProgress: (event: Progress) => void;
  onSwept: (swept: SweptWork) => void;
  /** Takes the bar off the line (before a question is asked). */
  clear(): void;
}

/** Runs a verb's core operation with a progress bar on standard error, cleared however it ends. */
export async function withProgressBar<T>(context: CliContext, work: (progress: VerbProgress) => Promise<T>): Promise<T> {
  const bar = new ProgressBar(context.stderr);
  try {
    return await work({
      onProgress: (event) => bar.update(event),
      onSwept: (swept) => {
        bar.clear();
        writeSweptNote(context.stderr, swept);
      },
      clear: () => bar.clear(),
    });
  } finally {
    bar.clear();
  }
}

/** A verb's result: one JSON object on standard output with --json, else its report in words. */
export function writeResult<T>(context: CliContext, json: boolean, result: T, report: (result: T) => void): void {
  if (json) {
    context.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    report(result);
  }
}
