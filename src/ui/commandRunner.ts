import * as vscode from 'vscode';
import { describeError, isCancelled } from '../core';

const OPEN_LOG = 'Open Log';

/**
 * Registers a command whose failures all end the same way: a cancel is ignored (the user
 * chose it), anything else is logged and shown with a button to the log.
 */
export function registerCommand(id: string, log: vscode.LogOutputChannel, handler: (...args: never[]) => unknown): vscode.Disposable {
  return vscode.commands.registerCommand(id, async (...args: never[]) => {
    try {
      return await handler(...args);
    } catch (error) {
      if (isCancelled(error)) {
        log.info(`${id}: ${describeError(error)}`);
        return undefined;
      }
      reportError(log, error);
      return undefined;
    }
  });
}

export function reportError(log: vscode.LogOutputChannel, error: unknown): void {
  log.error(error instanceof Error && error.stack ? error.stack : describeError(error));
  void vscode.window.showErrorMessage(describeError(error), OPEN_LOG).then((choice) => {
    if (choice === OPEN_LOG) {
      log.show();
    }
  });
}
