import * as path from 'node:path';
import * as vscode from 'vscode';
import { BackupInfo, deleteBackup, describeError, formatBytes, localDateTime, plural, sweepDeadWork } from '../../core';
import { backupsInUse } from '../backupsInUse';
import { registerCommand } from '../commandRunner';
import { EnvironmentRegistry } from '../environmentRegistry';
import { BackupNode } from '../environmentTree';
import { logSwept } from '../leftoverSweep';
import { findBackup, pickBackup } from '../pickBackup';
import { withViewProgress } from '../progressReporter';

const DELETE = 'Delete';

/**
 * "Delete Backup": one modal prompt for the selected rows, then each is deleted for good by the
 * core's deleteBackup, as prune does: renamed to a hidden name first, so that a delete stopped
 * midway (a reload, a crash) never leaves part of a backup under its name. Not to the trash: on
 * another disk a trash is a copy then a delete in place, and backups share files by hard links.
 */
export function registerDeleteCommand(registry: EnvironmentRegistry, log: vscode.LogOutputChannel): vscode.Disposable {
  return registerCommand('tracBackup.backup.delete', log, async (node?: unknown, selected?: unknown[]) => {
    const backups = await chooseBackups(registry, node, selected);
    if (backups.length === 0) {
      return [];
    }
    const paths = backups.map((backup) => backup.path);
    backupsInUse.refuseDeleteInUse(paths);
    // Named as the tree names them (the date), the folder after it.
    const lines = backups.map((backup) => `${localDateTime(backup.createdAt)} · ${formatBytes(backup.bytes)} (${backup.name})`);
    const message =
      backups.length === 1 ? `Delete the backup of ${localDateTime(backups[0].createdAt)}?` : `Delete these ${backups.length} backups?`;
    const detail = `${lines.join('\n')}\n\n${backups.length === 1 ? 'It is' : 'They are'} deleted permanently (not moved to the trash).`;
    const confirm: vscode.MessageItem = { title: backups.length === 1 ? DELETE : `Delete ${plural(backups.length, 'Backup')}` };
    const answer = await vscode.window.showWarningMessage(message, { modal: true, detail }, confirm, {
      title: 'Cancel',
      isCloseAffordance: true,
    });
    if (answer !== confirm) {
      return [];
    }
    backupsInUse.refuseDeleteInUse(paths); // a check may have started while the prompt was open
    const { deleted, failed } = await backupsInUse.during(paths, 'deleted', () =>
      withViewProgress(`Deleting ${plural(paths.length, 'backup')}`, () => deleteAll(paths, log)),
    );
    await registry.refresh();
    if (failed.length) {
      const done = deleted.length ? ` (${deleted.length} other${deleted.length === 1 ? ' was' : 's were'} deleted)` : '';
      throw new Error(`${failed.join(' ')}${done}`);
    }
    return deleted;
  });
}

/** Deletes each backup, after sweeping what stopped runs left beside it; a failure does not stop the others. */
async function deleteAll(backups: readonly string[], log: vscode.LogOutputChannel): Promise<{ deleted: string[]; failed: string[] }> {
  for (const folder of new Set(backups.map((backup) => path.dirname(backup)))) {
    logSwept(log, await sweepDeadWork(folder, ['backup', 'delete']));
  }
  const deleted: string[] = [];
  const failed: string[] = [];
  for (const backup of backups) {
    try {
      await deleteBackup(backup);
      log.info(`Deleted ${backup} permanently`);
      deleted.push(backup);
    } catch (error) {
      log.error(describeError(error));
      failed.push(describeError(error));
    }
  }
  return { deleted, failed };
}

async function chooseBackups(registry: EnvironmentRegistry, node: unknown, selected: unknown[] | undefined): Promise<BackupInfo[]> {
  const nodes = (selected?.length ? selected : [node]).filter((item): item is BackupNode => item instanceof BackupNode);
  if (nodes.length) {
    return nodes.map((item) => item.backup);
  }
  const chosen = node instanceof vscode.Uri ? findBackup(registry, node.fsPath) : await pickBackup(registry, node, 'Delete');
  const info = chosen?.listed.backups.find((backup) => backup.path === chosen.backup);
  return info ? [info] : [];
}
