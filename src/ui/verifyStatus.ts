import * as vscode from 'vscode';

/** The last verification of a backup, as its row shows it. */
export interface VerifyStatus {
  ok: boolean;
  problems: number;
  /** The first problems, for the tooltip. */
  summary: string[];
  checkedAt: string;
}

const KEY = 'tracBackup.verifyStatus';
const SUMMARY_LINES = 5;

/**
 * Remembers verification results by backup path, in VS Code's global storage: a backup folder
 * must not be written (an extra file would fail its own verification).
 */
export class VerifyStatusStore {
  private readonly changed = new vscode.EventEmitter<string>();
  readonly onDidChange = this.changed.event;

  constructor(private readonly state: vscode.Memento) {}

  get(backupPath: string): VerifyStatus | undefined {
    return this.all()[backupPath];
  }

  async set(backupPath: string, result: { ok: boolean; problems: Array<{ path: string; problem: string }> }): Promise<void> {
    const all = this.all();
    all[backupPath] = {
      ok: result.ok,
      problems: result.problems.length,
      summary: result.problems.slice(0, SUMMARY_LINES).map((problem) => `${problem.path}: ${problem.problem}`),
      checkedAt: new Date().toISOString(),
    };
    await this.state.update(KEY, all);
    this.changed.fire(backupPath);
  }

  /** Forgets backups that are gone, so the store does not grow forever. */
  async forgetAllBut(existing: ReadonlySet<string>): Promise<void> {
    const all = this.all();
    const kept = Object.fromEntries(Object.entries(all).filter(([backup]) => existing.has(backup)));
    if (Object.keys(kept).length !== Object.keys(all).length) {
      await this.state.update(KEY, kept);
    }
  }

  private all(): Record<string, VerifyStatus> {
    return { ...this.state.get<Record<string, VerifyStatus>>(KEY, {}) };
  }
}
