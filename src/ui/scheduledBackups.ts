import * as vscode from 'vscode';
import { newestBackupFor } from '../core/backupCatalog';
import { environmentChangedSince } from '../core/changedSinceBackup';
import { pruneBackups } from '../core/prune';
import { hasRetentionRule } from '../core/retention';
import { BackupScheduler, SchedulerEvent } from '../core/scheduler';
import { runBackup } from './backupRunner';
import { BackupStatusBar, newestBackupOf } from './backupStatusBar';
import { EnvironmentRegistry, ListedEnvironment } from './environmentRegistry';
import { SECTION, settings } from './settings';
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

  constructor(
    private readonly registry: EnvironmentRegistry,
    private readonly statuses: VerifyStatusStore,
    private readonly log: vscode.LogOutputChannel,
    private readonly statusBar: () => BackupStatusBar,
  ) {
    this.scheduler = new BackupScheduler({
      now: () => new Date(),
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
      schedule: () => settings.schedule(),
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
        const backup = [onDisk, listedNewest].filter((found) => found !== undefined).sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())[0];
        return backup ? { path: backup.path, createdAt: backup.createdAt } : undefined;
      },
      hasChangedSince: async (environment, last) => (await environmentChangedSince(environment, last.path)).changed,
      runBackup: (environment) => this.backUp(environment),
      prune: async (environment) => {
        const listed = this.listed(environment);
        const policy = settings.retention();
        return listed && hasRetentionRule(policy) ? pruneBackups(listed.backupFolder, policy, { environment }) : undefined;
      },
      report: (event) => this.report(event),
    });
    this.subscriptions = [
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration(`${SECTION}.schedule`)) {
          void this.scheduler.reschedule();
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
        this.log.error(`Scheduled backup (${event.stage}) of ${where} failed: ${event.message}`);
        void vscode.window.showErrorMessage(`Scheduled backup of ${where} failed: ${event.message}`, 'Open Log').then((choice) => {
          if (choice === 'Open Log') {
            this.log.show();
          }
        });
        break;
      }
      case 'idle':
        if (event.nextRunAt) {
          this.log.debug(`Next scheduled backup check at ${event.nextRunAt.toLocaleString()}`);
        }
        break;
    }
  }

  dispose(): void {
    this.abort.abort();
    this.scheduler.stop();
    vscode.Disposable.from(...this.subscriptions).dispose();
  }
}
