import * as vscode from 'vscode';
import {
  busyWithOthersError,
  describeHolder,
  describeRestore,
  detectLiveTrac,
  formatBytes,
  formatDuration,
  LiveTracReport,
  restore,
  RestorePlan,
  RestoreResult,
} from '../../core';
import { registerCommand } from '../commandRunner';
import { EnvironmentRegistry, ListedEnvironment } from '../environmentRegistry';
import { showWithPathButtons } from '../pathActions';
import { pickBackup } from '../pickBackup';
import { withNotificationProgress } from '../progressReporter';
import { RESTORE_ANYWAY, restorePrompt } from '../restorePrompt';

/** Checking the backup and the copy each read every byte once, as the copy does. */
export const RESTORE_WEIGHTS = { check: 1, recover: 0, copy: 1, verify: 1, swap: 0 };

/** "Trac: Restore Backup…": asks first, keeps what was there, swaps the backup in whole. */
export function registerRestoreCommand(registry: EnvironmentRegistry, log: vscode.LogOutputChannel): vscode.Disposable {
  return registerCommand('tracBackup.backup.restore', log, async (node?: unknown) => {
    const chosen = await pickBackup(registry, node, 'Restore');
    if (!chosen) {
      return undefined;
    }
    return restoreWithPrompt(registry, log, chosen.listed, chosen.backup);
  });
}

/** Shows the prompt and, when the user says Restore, restores the backup folder with progress. */
export async function restoreWithPrompt(
  registry: EnvironmentRegistry,
  log: vscode.LogOutputChannel,
  listed: ListedEnvironment,
  backup: string,
): Promise<RestoreResult | undefined> {
  const environment = listed.environment;
  // One time for the prompt and the restore: the kept-aside name the prompt shows is the folder made.
  const now = new Date();
  const plan = await describeRestore(backup, environment.path, { now });
  const live = plan.aside ? await detectLiveTrac(environment.path) : undefined;
  if (live?.others.length) {
    // Another window's (or the CLI's) backup or restore: not Trac, and not something to restore over.
    await vscode.window.showWarningMessage(
      `${environment.name} can't be restored now`,
      { modal: true, detail: busyWithOthersError(live).message },
      { title: 'OK', isCloseAffordance: true },
    );
    log.info(`Restore of ${environment.path} from ${backup}: refused, ${live.others.map(describeHolder).join('; ')} is working on it`);
    return undefined;
  }
  // Restore Anyway (Trac running, or others connected to its server database) goes on as force would.
  const anyway = restorePrompt(plan, environment.name, live).confirm === RESTORE_ANYWAY;
  if (!(await askToRestore(plan, environment.name, live))) {
    log.info(`Restore of ${environment.path} from ${backup}: cancelled at the prompt`);
    return undefined;
  }

  log.info(`Restoring ${environment.path} from ${backup}${anyway ? ' although Trac seems to be using it' : ''}`);
  const result = await withNotificationProgress(`Restoring ${environment.name}`, (signal, reporterFor) =>
    registry.withoutWatches(() =>
      restore(backup, environment.path, { replace: true, force: anyway, now, signal, onProgress: reporterFor(RESTORE_WEIGHTS) }),
    ),
  );
  await reportRestored(registry, log, environment.name, result);
  return result;
}

/** The modal prompt (restorePrompt's words): true when the user chose Restore (or Restore Anyway). */
export async function askToRestore(plan: RestorePlan, environmentName: string, live: LiveTracReport | undefined): Promise<boolean> {
  const prompt = restorePrompt(plan, environmentName, live);
  const confirm: vscode.MessageItem = { title: prompt.confirm };
  const cancel: vscode.MessageItem = { title: 'Cancel', isCloseAffordance: true };
  const answer = await vscode.window.showWarningMessage(prompt.message, { modal: true, detail: prompt.detail }, confirm, cancel);
  return answer === confirm;
}

/** Logs what a restore did and says so in a notification that can reveal the kept copy. */
export async function reportRestored(
  registry: EnvironmentRegistry,
  log: vscode.LogOutputChannel,
  environmentName: string,
  result: RestoreResult,
): Promise<void> {
  for (const leftover of result.leftovers) {
    log.info(`${leftover.path}: ${leftover.detail}`);
  }
  if (result.madeFolders.length) {
    log.info(`Made ${result.madeFolders.join(', ')} in ${result.env}: every Trac environment has them, and the backup lacked them.`);
  }
  for (const note of result.notes) {
    log.info(note);
  }
  for (const warning of result.warnings) {
    log.warn(warning);
  }
  await registry.refresh();
  const kept = result.aside ? ` The previous environment is kept at ${result.aside}.` : '';
  const inside = result.databaseInside
    ? ` Its database is inside it (${result.databaseInside.file}); ${result.databaseInside.backedUpFrom} was not touched.`
    : '';
  const server = result.serverDatabase;
  const keptData = server?.aside
    ? ` The data ${server.display} held is kept as the ${server.display.startsWith('postgres') ? 'schema' : 'database'} ${server.aside}.`
    : '';
  const summary = `Restored ${environmentName} (${formatBytes(result.bytes)} in ${result.files} files, ${formatDuration(result.durationMs)}).${kept}${keptData}${inside}`;
  log.info(summary);
  // The kept copy is what a person may want next (to compare, to take something back from).
  void (result.aside ? showWithPathButtons(summary, result.aside) : vscode.window.showInformationMessage(summary));
}
