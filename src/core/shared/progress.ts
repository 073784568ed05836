/**
 * What every long operation reports as it goes: the phase it is in (each operation has its own
 * phase type: HotcopyPhase, RestorePhase, VerifyPhase, ArchivePhase), and the files and bytes done
 * of those known so far.
 */
export interface Progress<Phase extends string = string> {
  phase: Phase;
  /** Bytes done so far; files done again after a change count again, on both sides. */
  bytesDone: number;
  bytesTotal: number;
  filesDone: number;
  filesTotal: number;
  /** The file being worked on, relative to the tree, when there is one. */
  path?: string;
  /** Something worth telling once (e.g. `linkFallback: …`): set on one event only. */
  note?: string;
}

/** Keeps the running totals and hands a fresh event to the listener at each step. */
export class ProgressTracker<Phase extends string = string> {
  private readonly state: Progress<Phase>;

  constructor(
    firstPhase: Phase,
    private readonly listener?: (event: Progress<Phase>) => void,
  ) {
    this.state = { phase: firstPhase, bytesDone: 0, bytesTotal: 0, filesDone: 0, filesTotal: 0 };
  }

  get phase(): Phase {
    return this.state.phase;
  }

  enter(phase: Phase): void {
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

/** The part of a tracker that counts files and bytes, for work that knows nothing of phases (a tree copy). */
export type ProgressCounter = Pick<ProgressTracker, 'expect' | 'advance' | 'fileDone'>;
