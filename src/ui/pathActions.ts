import * as vscode from 'vscode';

export const REVEAL_IN_OS = 'Reveal in File Explorer';
export const COPY_PATH = 'Copy Path';
export const SHOW_IN_EXPLORER = 'Show in Explorer View';

/**
 * Whether VS Code can open a folder in the system's file manager here: only desktop VS Code on
 * its own machine has `revealFileInOS` (a browser, code-server or vscode.dev has no such command;
 * a Remote, WSL or dev-container window would reveal on the wrong machine). The menus say the
 * same with `!isWeb && !remoteName`.
 */
export function canRevealInOS(): boolean {
  return vscode.env.uiKind === vscode.UIKind.Desktop && !vscode.env.remoteName;
}

/** The buttons a notification about `target` offers: what works here, Copy Path always. */
export function pathButtons(target: string): string[] {
  const inWorkspace = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(target)) !== undefined;
  return [...(canRevealInOS() ? [REVEAL_IN_OS] : inWorkspace ? [SHOW_IN_EXPLORER] : []), COPY_PATH];
}

/** Does what a button of pathButtons says; false for any other choice. */
export async function runPathButton(choice: string | undefined, target: string): Promise<boolean> {
  switch (choice) {
    case REVEAL_IN_OS:
      await vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(target));
      return true;
    case SHOW_IN_EXPLORER:
      await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(target));
      return true;
    case COPY_PATH:
      await copyPath(target);
      return true;
    default:
      return false;
  }
}

/** Puts a path on the clipboard (the browser's, in code-server) and says so in the status bar. */
export async function copyPath(target: string): Promise<void> {
  await vscode.env.clipboard.writeText(target);
  vscode.window.setStatusBarMessage(`$(clippy) Copied ${target}`, 3000);
}

/** An information message with the path buttons; their choice is acted on. */
export function showWithPathButtons(message: string, target: string, ...more: string[]): Thenable<string | undefined> {
  return vscode.window.showInformationMessage(message, ...pathButtons(target), ...more).then(async (choice) => {
    await runPathButton(choice, target);
    return choice;
  });
}
