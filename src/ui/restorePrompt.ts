// The words of the modal shown before a restore replaces files. Kept free of `vscode` so that
// unit tests can read exactly what a person will be asked.
import * as path from 'node:path';
import { databaseInsideNote, formatBytes, LiveTracReport, localDateTime, plural, RestorePlan, serverRestoreLines } from '../core';

export const RESTORE = 'Restore';
export const RESTORE_ANYWAY = 'Restore Anyway';

export interface RestorePrompt {
  message: string;
  detail: string;
  /** The one button that restores; Cancel is always offered beside it. */
  confirm: typeof RESTORE | typeof RESTORE_ANYWAY;
}

export function restorePrompt(plan: RestorePlan, environmentName: string, live?: LiveTracReport): RestorePrompt {
  // The date the backup's row in the tree shows (its label), so that both name it the same way.
  const date = localDateTime(new Date(plan.backupCreatedAt));
  const lines: string[] = [`Environment: ${plan.environment}`, `Backup: ${plan.backup} (made ${date})`, ''];
  if (plan.aside) {
    lines.push(
      `This replaces the ${plan.replaced.files} files (${formatBytes(plan.replaced.bytes)}) there now with the backup's ` +
        `${plan.restored.files} files (${formatBytes(plan.restored.bytes)}).`,
      `The current environment will be kept, not deleted, as ${plan.aside}`,
    );
  } else {
    lines.push(
      `Nothing is there now: the backup's ${plan.restored.files} files (${formatBytes(plan.restored.bytes)}) will be written there.`,
    );
  }
  if (plan.database) {
    lines.push(
      `Its database goes back to ${plan.database.file}` +
        (plan.database.aside ? `; the one there is kept as ${path.basename(plan.database.aside)}.` : '.'),
    );
  }
  if (plan.databaseInside) {
    lines.push(databaseInsideNote(plan.databaseInside, false));
  }
  if (plan.serverDatabase) {
    lines.push(...serverRestoreLines(plan.serverDatabase));
  }
  for (const warning of plan.warnings) {
    lines.push('', `⚠ ${warning}`);
  }
  const changes = plan.changedSinceBackup;
  if (changes?.changed) {
    const parts = [
      changes.tickets ? plural(changes.tickets, 'ticket') : '',
      changes.wikiPages ? plural(changes.wikiPages, 'wiki page') : '',
    ].filter(Boolean);
    lines.push(
      '',
      `⚠ The environment changed after this backup: ${parts.join(' and ')} changed since` +
        (changes.latest ? ` (the newest on ${new Date(changes.latest).toLocaleString()})` : '') +
        '. Those changes will not be in the restored environment; they stay in the kept copy.',
    );
  }
  const othersConnected = (plan.serverDatabase?.otherConnections.length ?? 0) > 0;
  if (othersConnected) {
    lines.push('', '⚠ Others are connected to that database (listed above): stop Trac and whatever else uses it first, or restore anyway.');
  }
  const running = live?.running === true;
  if (running) {
    const processes = live.processes.map((process) => `  ${process.pid}: ${process.command}`);
    lines.push(
      '',
      `⚠ Trac seems to be running: ${live.summary ?? 'its database is in use.'}`,
      ...processes,
      'Stop it first (for tracd: stop the server), or restore anyway.',
    );
  }
  return {
    message: `Restore ${environmentName} from the backup of ${date}?`,
    detail: lines.join('\n'),
    confirm: running || othersConnected ? RESTORE_ANYWAY : RESTORE,
  };
}
