import * as vscode from 'vscode';
import { isKeptBeforeRestore, isOverdue } from '../core';
import { EnvironmentRegistry, ListedEnvironment } from './environmentRegistry';
import { PhaseProgress } from './progressReporter';
import { relativeAge } from './relativeAge';
import { SECTION, settings } from './settings';

const AGE_REFRESH_MS = 60_000;

/** The newest backup a person made or the schedule made (not a copy a restore kept). */
export function newestBackupOf(listed: ListedEnvironment) {
  return listed.backups.find((backup) => !isKeptBeforeRestore(backup.name) && !backup.problem);
}

/**
 * "$(history) Trac: 5 minutes ago": the age of the newest backup of the workspace's environments,
 * on a warning background when one is older than the schedule allows; while a scheduled backup
 * runs, its progress instead, so that it never interrupts with a notification.
 */
export class BackupStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('tracBackup.status', vscode.StatusBarAlignment.Left, 10);
  private readonly timer = setInterval(() => this.update(), AGE_REFRESH_MS);
  private readonly subscription: vscode.Disposable;
  private running: string | undefined;
  private visible = false;
  /** Environments whose last scheduled backup failed, with why (cleared by a good one). */
  private readonly failed = new Map<string, string>();

  constructor(
    private readonly registry: EnvironmentRegistry,
    private readonly checkedUnchangedAt: (environment: string) => Date | undefined,
  ) {
    this.item.name = 'Trac Backup';
    this.item.command = 'tracBackup.environments.focus';
    this.subscription = vscode.Disposable.from(
      registry.onDidChange(() => this.update()),
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration(`${SECTION}.schedule`)) {
          this.update(); // a folder's schedule changed: its colour and tooltip line with it
        }
      }),
    );
  }

  showProgress(environmentName: string, event: PhaseProgress): void {
    const percent = event.bytesTotal > 0 ? ` ${Math.min(99, Math.floor((100 * event.bytesDone) / event.bytesTotal))}%` : '';
    this.running = `$(sync~spin) Trac: backing up ${environmentName}${percent}`;
    this.update();
  }

  /** The outcome of a scheduled backup of `environment`: why it failed, or undefined when it was made. */
  setFailed(environment: string, why: string | undefined): void {
    if (why === undefined) {
      this.failed.delete(environment);
    } else {
      this.failed.set(environment, why);
    }
    this.update();
  }

  doneRunning(): void {
    this.running = undefined;
    this.update();
  }

  update(): void {
    const listedNow = this.registry.environments;
    const environments = listedNow.filter((listed) => listed.problems.length === 0);
    // Those that cannot be backed up are named, never left out without a word.
    const broken = listedNow.filter((listed) => listed.problems.length > 0);
    const failed = environments.filter((listed) => this.failed.has(listed.environment.path));
    if (listedNow.length === 0) {
      this.item.hide();
      this.visible = false;
      return;
    }
    const now = new Date();
    // Each environment by its own schedule: a workspace folder's settings may set another.
    const schedules = environments.map((listed) => settings.schedule(listed.environment.path));
    const mixed = new Set(schedules).size > 1;
    const lines: string[] = [];
    let newest: Date | undefined;
    let overdue = false;
    for (const [index, listed] of environments.entries()) {
      const schedule = schedules[index];
      const backup = newestBackupOf(listed);
      const checked = this.checkedUnchangedAt(listed.environment.path);
      const last = [backup?.createdAt, checked].filter((date): date is Date => !!date).sort((a, b) => b.getTime() - a.getTime())[0];
      const late = isOverdue(last, schedule, now);
      overdue ||= late;
      if (backup && (!newest || backup.createdAt > newest)) {
        newest = backup.createdAt;
      }
      const notes = [...(mixed ? [schedule === 'off' ? 'not scheduled' : schedule] : []), ...(late ? ['overdue'] : [])];
      const age = backup ? `backed up ${relativeAge(backup.createdAt, now)}` : 'no backup yet';
      lines.push(`${listed.environment.name}: ${age}${notes.length ? ` (${notes.join(', ')})` : ''}`);
    }
    for (const listed of broken) {
      lines.push(`${listed.environment.name}: not backed up: ${listed.problems.join(' ')}`);
    }
    for (const listed of failed) {
      lines.push(`${listed.environment.name}: the last scheduled backup failed: ${this.failed.get(listed.environment.path)}`);
    }
    const notBackedUp = broken.length + failed.length;
    const count = notBackedUp ? ` · ${listedNow.length - notBackedUp} of ${listedNow.length} backed up` : '';
    this.item.text =
      this.running ?? `$(${notBackedUp ? 'warning' : 'history'}) Trac: ${newest ? relativeAge(newest, now) : 'no backup'}${count}`;
    this.item.backgroundColor =
      (overdue || notBackedUp) && !this.running ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    const scheduleLine = mixed
      ? "Backed up while VS Code is open by each environment's tracBackup.schedule (its folder's settings), as shown."
      : schedules[0] === 'off'
        ? 'Scheduled backups are off (tracBackup.schedule).'
        : `Backed up ${schedules[0]} while VS Code is open.`;
    const scheduleNote = environments.length ? [scheduleLine] : [];
    this.item.tooltip = [...lines, '', ...scheduleNote, ...(overdue ? ['A backup is older than the schedule allows.'] : [])].join('\n');
    this.item.show();
    this.visible = true;
  }

  /** What the item shows now, for tests and other extensions (see api.ts). */
  get state(): { text: string; tooltip: string; warning: boolean; visible: boolean } {
    return {
      text: this.item.text,
      tooltip: typeof this.item.tooltip === 'string' ? this.item.tooltip : (this.item.tooltip?.value ?? ''),
      warning: this.item.backgroundColor !== undefined,
      visible: this.visible,
    };
  }

  dispose(): void {
    clearInterval(this.timer);
    this.subscription.dispose();
    this.item.dispose();
  }
}
