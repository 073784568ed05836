import * as vscode from 'vscode';
import { formatBytes } from '../../core/format';
import { BackupInfo } from '../../core/backupCatalog';
import { describeError } from '../../core/errors';
import { registerCommand } from '../commandRunner';
import { EnvironmentRegistry } from '../environmentRegistry';
import { BackupNode } from '../environmentTree';
import { findBackup, pickBackup } from '../pickBackup';

const DELETE = 'Delete';

/** "Delete Backup": one modal prompt for the selected rows, then to the trash where possible. */
export function registerDeleteCommand(registry: EnvironmentRegistry, log: vscode.LogOutputChannel): vscode.Disposable {
  return registerCommand('tracBackup.backup.delete', log, async (node?: unknown, selected?: unknown[]) => {
    const backups = await chooseBackups(registry, node, selected);
    if (backups.length === 0) {
      return [];
    }
    const lines = backups.map((backup) => `${backup.name} — made ${backup.createdAt.toLocaleString()} — ${formatBytes(backup.bytes)}`);
    const message = backups.length === 1 ? `Delete the backup ${backups[0].name}?` : `Delete these ${backups.length} backups?`;
    const where = backups.length === 1 ? 'It goes' : 'They go';
    const gone = backups.length === 1 ? 'it is' : 'they are';
    const detail = `${lines.join('\n')}\n\n${where} to the trash where the system has one; otherwise ${gone} removed for good.`;
    const confirm: vscode.MessageItem = { title: DELETE };
    const answer = await vscode.window.showWarningMessage(message, { modal: true, detail }, confirm, { title: 'Cancel', isCloseAffordance: true });
    if (answer !== confirm) {
      return [];
    }
    const deleted: string[] = [];
    for (const backup of backups) {
      await deleteFolder(backup.path, log);
      deleted.push(backup.path);
    }
    await registry.refresh();
    return deleted;
  });
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

async function deleteFolder(folder: string, log: vscode.LogOutputChannel): Promise<void> {
  const uri = vscode.Uri.file(folder);
  try {
    await vscode.workspace.fs.delete(uri, { recursive: true, useTrash: true });
    log.info(`Moved ${folder} to the trash`);
  } catch (error) {
    log.info(`No trash for ${folder} (${describeError(error)}): removing it`);
    await vscode.workspace.fs.delete(uri, { recursive: true, useTrash: false });
    log.info(`Removed ${folder}`);
  }
}
