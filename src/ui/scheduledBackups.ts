import * as path from 'node:path';
import * as vscode from 'vscode';
import { BackupScheduler, environmentChangedSince, hasRetentionRule, newestBackupFor, plural, pruneBackups, SchedulerEvent } from '../core';
import { runBackup } from './backupRunner';
import { BackupStatusBar, newestBackupOf } from './backupStatusBar';
import { EnvironmentRegistry, ListedEnvironment } from './environmentRegistry';
import { OPEN_RETENTION_SETTING, SECTION, settings } from './settings';
import { VerifyStatusStore } from './verifyStatus';

/**
 * tracBackup.schedule while VS Code is open: the core's BackupScheduler with VS Code's clock,
 * the listed environments and the same backup as the command, reporting in the status bar and
 * raising a notification only on failure.
 */
export class ScheduledBackups implements vscode.Disposable {
  readonly scheduler: BackupScheduler;
  private readonly subscriptions: vscode.Disposable[];
  private readonly abort = new AbortController();
  /** The invalid tracBackup.retention values already said: once each, not every round. */
  private readonly retentionWarned = new Set<string>();
  /** The last backup the schedule made of each environment, for a failure of the prune after it. */
  private readonly made = new Map<string, unknown>();
  /** The environments that cannot be backed up last named (see warnUnableToBackUp). */
  private unableWarned = '';

  constructor(
    private readonly registry: EnvironmentRegistry,
    private readonly statuses: VerifyStatusStore,
    private readonly log: vscode.LogOutputChannel,
    private readonly statusBar: () => BackupStatusBar,
    /** After each good scheduled backup (its offsite copy, when tracBackup.offsite.repository is set). */
    private readonly afterBackup?: (listed: ListedEnvironment, backup: string, signal: AbortSignal) => Promise<void>,
  ) {
    this.scheduler = new BackupScheduler({
      now: () => new Date(),
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
      schedule: (environment) => settings.schedule(environment),
      environments: async () => {
        await registry.ready();
        return registry.environments.filter((listed) => listed.problems.length === 0).map((listed) => listed.environment.path);
      },
      lastBackup: async (environment) => {
        const listed = this.listed(environment);
        if (!listed) {
          return undefined;
        }
        // From the disk, not the list: another window may have just made one (the list follows a moment later).
        const onDisk = await newestBackupFor(listed.backupFolder, environment);
        const listedNewest = newestBackupOf(listed);
        const backup = [onDisk, listedNewest]
          .filter((found) => found !== undefined)
          .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())[0];
        return backup ? { path: backup.path, createdAt: backup.createdAt } : undefined;
      },
      hasChangedSince: async (environment, last) => (await environmentChangedSince(environment, last.path)).changed,
      runBackup: (environment) => this.backUp(environment),
      prune: async (environment) => {
        const listed = this.listed(environment);
        const retention = settings.retention(environment);
        if (retention.invalid !== undefined) {
          this.warnInvalidRetention(retention.invalid);
          return undefined;
        }
        if (!listed || !hasRetentionRule(retention.policy)) {
          return undefined;
        }
        const result = await pruneBackups(listed.backupFolder, retention.policy, { environment });
        if (result.failed.length) {
          const [first] = result.failed;
          const more = result.failed.length > 1 ? ` (and ${result.failed.length - 1} more)` : '';
          throw new Error(`could not delete ${first.path}${more}: ${first.error}`);
        }
        return result;
      },
      report: (event) => this.report(event),
    });
    this.subscriptions = [
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration(`${SECTION}.schedule`)) {
          void this.scheduler.reschedule();
        }
        if (event.affectsConfiguration(`${SECTION}.retention`)) {
          this.retentionWarned.clear(); // a value still wrong after an edit is said again, once
        }
      }),
      registry.onDidChange(() => void this.scheduler.reschedule()),
    ];
  }

  start(): Promise<void> {
    return this.scheduler.start();
  }

  private listed(environment: string): ListedEnvironment | undefined {
    return this.registry.find(environment);
  }

  private async backUp(environment: string): Promise<unknown> {
    const listed = this.listed(environment);
    if (!listed) {
      throw new Error(`${environment} is no longer listed`);
    }
    const bar = this.statusBar();
    try {
      const run = await runBackup(listed, this.statuses, this.log, {
        signal: this.abort.signal,
        onProgress: (event) => bar.showProgress(listed.environment.name, event),
      });
      if (run.verified && !run.verified.ok) {
        throw new Error(`the new backup ${run.result.dest} failed verification: ${run.verified.problems[0]?.problem ?? ''}`);
      }
      await this.afterBackup?.(listed, run.result.dest, this.abort.signal);
      return run.result;
    } finally {
      bar.doneRunning();
      await this.registry.refresh();
    }
  }

  private report(event: SchedulerEvent): void {
    switch (event.type) {
      case 'backup-started':
        this.log.info(`Scheduled backup of ${event.environment}`);
        break;
      case 'backed-up':
        this.made.set(event.environment, event.result);
        this.statusBar().setFailed(event.environment, undefined);
        break;
      case 'skipped':
        this.log.info(`Scheduled backup of ${event.environment} skipped: ${event.reason}`);
        this.statusBar().update();
        break;
      case 'pruned':
        if (event.result) {
          this.log.info(`Pruned the backups of ${event.environment} by tracBackup.retention`);
        }
        break;
      case 'failed': {
        const where = event.environment || 'the listed environments';
        // The backup before a failed prune was made: say so, and which step failed.
        const dest = event.stage === 'prune' ? (this.made.get(event.environment) as { dest?: string } | undefined)?.dest : undefined;
        const message =
          event.stage === 'prune'
            ? `Scheduled backup of ${where} made${dest ? ` (${path.basename(dest)})` : ''}, but pruning failed: ${event.message}`
            : `Scheduled backup of ${where} failed: ${event.message}`;
        this.log.error(event.stage === 'prune' ? message : `Scheduled backup (${event.stage}) of ${where} failed: ${event.message}`);
        if (event.stage === 'backup' && event.environment) {
          this.statusBar().setFailed(event.environment, event.message);
        }
        void vscode.window.showErrorMessage(message, 'Open Log').then((choice) => {
          if (choice === 'Open Log') {
            this.log.show();
          }
        });
        break;
      }
      case 'idle':
        this.warnUnableToBackUp();
        if (event.nextRunAt) {
          this.log.debug(`Next scheduled backup check at ${event.nextRunAt.toLocaleString()}`);
        }
        break;
    }
  }

  /**
   * Names, once for each set of them, the listed environments a schedule covers but that cannot
   * be backed up (not an environment, a database missing...): "1 of 2 environments backed up".
   */
  private warnUnableToBackUp(): void {
    const scheduled = this.registry.environments.filter((listed) => settings.schedule(listed.environment.path) !== 'off');
    const broken = scheduled.filter((listed) => listed.problems.length > 0);
    const key = broken.map((listed) => `${listed.environment.path}: ${listed.problems.join(' ')}`).join('\n');
    if (key === this.unableWarned) {
      return;
    }
    this.unableWarned = key;
    if (!broken.length) {
      return;
    }
    const reasons = broken.map((listed) => `${listed.environment.name} (${listed.environment.path}): ${listed.problems.join(' ')}`);
    const message =
      `Scheduled backups: ${scheduled.length - broken.length} of ${plural(scheduled.length, 'environment')} can be backed up; ` +
      `${broken.length === 1 ? 'this one cannot' : 'these cannot'}: ${reasons.join('; ')}`;
    this.log.warn(message);
    void vscode.window.showWarningMessage(message, 'Open Log').then((choice) => {
      if (choice === 'Open Log') {
        this.log.show();
      }
    });
  }

  /** Says once (a warning with a button to the setting, and a log line) that the schedule does not prune, and why. */
  private warnInvalidRetention(message: string): void {
    if (this.retentionWarned.has(message)) {
      return;
    }
    this.retentionWarned.add(message);
    this.log.warn(`Scheduled backups are not pruned: ${message}`);
    void vscode.window.showWarningMessage(message, OPEN_RETENTION_SETTING).then((choice) => {
      if (choice === OPEN_RETENTION_SETTING) {
        void vscode.commands.executeCommand('workbench.action.openSettings', `${SECTION}.retention`);
      }
    });
  }

  dispose(): void {
    this.abort.abort();
    this.scheduler.stop();
    vscode.Disposable.from(...this.subscriptions).dispose();
  }
}
