import * as path from 'node:path';
import * as vscode from 'vscode';
import { formatBytes, isKeptBeforeRestore, localDateTime } from '../core';
import { EnvironmentRegistry, ListedEnvironment } from './environmentRegistry';
import { BackupNode } from './environmentTree';
import { pickEnvironment } from './pickEnvironment';

const BROWSE = 'Browse for a backup folder…';

export interface ChosenBackup {
  listed: ListedEnvironment;
  backup: string;
}

/**
 * The backup a command acts on: the tree row it was run from, or the environment and then
 * the backup the user picks (or browses for). Undefined when the user dismisses a pick.
 */
export async function pickBackup(registry: EnvironmentRegistry, node: unknown, verb: string): Promise<ChosenBackup | undefined> {
  if (node instanceof BackupNode) {
    return { listed: node.listed, backup: node.path };
  }
  if (node instanceof vscode.Uri) {
    const found = findBackup(registry, node.fsPath);
    if (found) {
      return found;
    }
  }
  const listed = await pickEnvironment(registry, node, `${verb} a backup of which Trac environment?`);
  if (!listed) {
    return undefined;
  }
  // Named as the tree names them: the date its row shows, and what kind of copy it is.
  const items: Array<vscode.QuickPickItem & { backup?: string }> = listed.backups.map((backup) => ({
    label: localDateTime(backup.createdAt),
    description: `${formatBytes(backup.bytes)} · ${backup.name}`,
    detail: isKeptBeforeRestore(backup.name)
      ? 'Kept before a restore (the environment as it was then)'
      : backup.kind === 'trac-admin'
        ? 'A plain environment copy (as trac-admin hotcopy makes)'
        : undefined,
    backup: backup.path,
  }));
  items.push({ label: `$(folder-opened) ${BROWSE}` });
  const picked = await vscode.window.showQuickPick(items, { placeHolder: `${verb} which backup of ${listed.environment.name}?` });
  if (!picked) {
    return undefined;
  }
  if (picked.backup) {
    return { listed, backup: picked.backup };
  }
  const folder = await vscode.window.showOpenDialog({
    canSelectFiles: false,
    canSelectFolders: true,
    openLabel: verb,
    title: `Choose a backup of ${listed.environment.name} (a folder holding VERSION and conf/trac.ini)`,
    defaultUri: vscode.Uri.file(listed.backupFolder),
  });
  return folder?.[0] ? { listed, backup: path.resolve(folder[0].fsPath) } : undefined;
}

/** The listed environment that a backup folder belongs to, when the tree shows it. */
export function findBackup(registry: EnvironmentRegistry, backupPath: string): ChosenBackup | undefined {
  const wanted = path.resolve(backupPath);
  for (const listed of registry.environments) {
    if (listed.backups.some((backup) => backup.path === wanted)) {
      return { listed, backup: wanted };
    }
  }
  return undefined;
}
