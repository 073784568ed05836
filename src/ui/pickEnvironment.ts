import * as vscode from 'vscode';
import { TracBackupError } from '../core';
import { EnvironmentRegistry, ListedEnvironment } from './environmentRegistry';
import { EnvironmentNode } from './environmentTree';
import { displayPath } from './settings';

/**
 * The environment a command acts on: the tree row it was run from, the only healthy one,
 * or the one the user picks. Undefined when the user dismisses the pick.
 */
export async function pickEnvironment(
  registry: EnvironmentRegistry,
  node: unknown,
  placeHolder: string,
): Promise<ListedEnvironment | undefined> {
  if (node instanceof EnvironmentNode) {
    return node.listed;
  }
  if (node instanceof vscode.Uri) {
    return registry.find(node.fsPath);
  }
  await registry.ready();
  const healthy = registry.environments.filter((listed) => listed.problems.length === 0);
  if (healthy.length === 0) {
    throw new TracBackupError(
      'NOT_AN_ENVIRONMENT',
      'No Trac environment is listed in the Trac view. Open a folder that holds one, or use "Trac: Add Environment…".',
    );
  }
  if (healthy.length === 1) {
    return healthy[0];
  }
  const picked = await vscode.window.showQuickPick(
    healthy.map((listed) => ({ label: listed.environment.name, description: displayPath(listed.environment.path), listed })),
    { placeHolder, matchOnDescription: true },
  );
  return picked?.listed;
}
