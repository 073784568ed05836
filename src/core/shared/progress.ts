/**
 * The steps of a hot backup, in order:
 * - scan: list the environment's files;
 * - copy: copy them, without any lock;
 * - catch-up: copy again what changed meanwhile, still without a lock;
 * - lock: wait for Trac's database write lock;
 * - snapshot: under that lock, snapshot the database and bring the attachments in line with it;
 * - finish: lock released, catch up on the other files (configuration, logs, …);
 * - verify: check the database snapshot and write the metadata;
 * - publish: move the finished backup into place.
 */
export type HotcopyPhase = 'scan' | 'copy' | 'catch-up' | 'lock' | 'snapshot' | 'finish' | 'verify' | 'publish';

export const HOTCOPY_PHASES: readonly HotcopyPhase[] = [
  'scan',
  'copy',
  'catch-up',
  'lock',
  'snapshot',
  'finish',
  'verify',
  'publish',
];

export interface HotcopyProgress {
  phase: HotcopyPhase;
  /** Bytes copied so far; files copied again after a change count again, on both sides. */
  bytesDone: number;
  bytesTotal: number;
  filesDone: number;
  filesTotal: number;
  /** The file being copied, relative to the environment, when there is one. */
  path?: string;
  /** Something worth telling once (e.g. `linkFallback: …`): set on one event only. */
  note?: string;
}

/** Keeps the running totals and hands a fresh event to the listener at each step. */
export class ProgressTracker {
  private readonly state: HotcopyProgress = { phase: 'scan', bytesDone: 0, bytesTotal: 0, filesDone: 0, filesTotal: 0 };

  constructor(private readonly listener?: (event: HotcopyProgress) => void) {}

  get phase(): HotcopyPhase {
    return this.state.phase;
  }

  enter(phase: HotcopyPhase): void {
    this.state.phase = phase;
    this.state.path = undefined;
    this.emit();
  }

  /** More work found (a scan, a changed file). */
  expect(files: number, bytes: number): void {
    this.state.filesTotal += files;
    this.state.bytesTotal += bytes;
  }

  advance(bytes: number, path?: string): void {
    this.state.bytesDone += bytes;
    this.state.path = path;
    this.emit();
  }

  fileDone(path?: string): void {
    this.state.filesDone += 1;
    this.state.path = path;
    this.emit();
  }

  /** Tells the listener something once, with the current totals. */
  note(text: string): void {
    this.listener?.({ ...this.state, note: text });
  }

  private emit(): void {
    this.listener?.({ ...this.state });
  }
}
