import * as path from 'node:path';
import * as vscode from 'vscode';
import { TracBackupError, whyNotAnEnvironment } from '../../core';
import { registerCommand } from '../commandRunner';
import { EnvironmentRegistry } from '../environmentRegistry';
import { BackupNode, EnvironmentNode, SHOW_PROBLEM_COMMAND } from '../environmentTree';
import { canRevealInOS, copyPath } from '../pathActions';

/** Add Environment…, Remove from List, Refresh, Reveal. */
export function registerEnvironmentCommands(
  registry: EnvironmentRegistry,
  log: vscode.LogOutputChannel,
  extensionId: string,
): vscode.Disposable[] {
  return [
    registerCommand('tracBackup.environment.add', log, async (folder?: vscode.Uri) => {
      const chosen = folder ?? (await pickFolder());
      if (!chosen) {
        return;
      }
      const envPath = path.resolve(chosen.fsPath);
      const reason = await whyNotAnEnvironment(envPath);
      if (reason) {
        throw new TracBackupError(
          'NOT_AN_ENVIRONMENT',
          `${envPath} is not a Trac environment: ${reason}. Choose the folder that holds VERSION and conf/trac.ini.`,
          envPath,
        );
      }
      log.info(`Adding environment ${envPath}`);
      await registry.add(envPath);
    }),
    registerCommand('tracBackup.environment.remove', log, async (target?: EnvironmentNode | vscode.Uri) => {
      const envPath = target instanceof vscode.Uri ? path.resolve(target.fsPath) : target?.path;
      if (!envPath) {
        return;
      }
      log.info(`Removing ${envPath} from the list`);
      await registry.hide(envPath);
    }),
    registerCommand('tracBackup.environments.refresh', log, () => registry.refresh()),
    // Reveal shows only where VS Code can do it (desktop, local: see canRevealInOS); Copy Path works everywhere.
    registerCommand('tracBackup.environment.reveal', log, (node?: EnvironmentNode) => (node ? revealOrCopy(node.path) : undefined)),
    registerCommand('tracBackup.backup.reveal', log, (node?: BackupNode) => (node ? revealOrCopy(node.path) : undefined)),
    registerCommand('tracBackup.environment.copyPath', log, (node?: EnvironmentNode) => (node ? copyPath(node.path) : undefined)),
    registerCommand('tracBackup.backup.copyPath', log, (node?: BackupNode) => (node ? copyPath(node.path) : undefined)),
    registerCommand('tracBackup.showLog', log, () => log.show()),
    // A Problem row's whole sentence, asked for by a click on the row: once fixed, Refresh shows the environment again.
    registerCommand(SHOW_PROBLEM_COMMAND, log, async (problem?: string) => {
      if (problem && (await vscode.window.showWarningMessage(problem, 'Refresh')) === 'Refresh') {
        await registry.refresh();
      }
    }),
    // The walkthrough by its full id (publisher.name#id), whatever the package is published as.
    registerCommand('tracBackup.gettingStarted', log, () =>
      vscode.commands.executeCommand('workbench.action.openWalkthrough', `${extensionId}#gettingStarted`, false),
    ),
  ];
}

async function pickFolder(): Promise<vscode.Uri | undefined> {
  const picked = await vscode.window.showOpenDialog({
    canSelectFiles: false,
    canSelectFolders: true,
    canSelectMany: false,
    openLabel: 'Add Environment',
    title: 'Choose a Trac environment folder (it holds VERSION and conf/trac.ini)',
    defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
  });
  return picked?.[0];
}

/** Reveal in the system's file manager where that works; elsewhere (a keybinding in a browser) the path is copied instead. */
async function revealOrCopy(target: string): Promise<void> {
  if (canRevealInOS()) {
    await vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(target));
  } else {
    await copyPath(target);
  }
}
