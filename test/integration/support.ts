// Shared by the suites that run inside the extension host.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { EnvironmentRow, TracBackupApi } from '../../src/api';

export const EXTENSION_ID = 'trac-backup.trac-backup';

export function workspaceRoot(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the test workspace has no folder open');
  return folder.uri.fsPath;
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** The extension's API, once it is active. */
export async function activeApi(): Promise<TracBackupApi> {
  const extension = vscode.extensions.getExtension<TracBackupApi>(EXTENSION_ID);
  assert.ok(extension, `extension ${EXTENSION_ID} is not installed`);
  return extension.activate();
}

/**
 * Lists until the rows satisfy check, or fails showing the last rows. With refresh false it
 * only watches, so the change must reach the list by the extension's own file watchers.
 */
export async function rowsWhen(
  api: TracBackupApi,
  check: (rows: EnvironmentRow[]) => boolean,
  what: string,
  { refresh = true, timeoutMs = 15_000 } = {},
): Promise<EnvironmentRow[]> {
  const deadline = Date.now() + timeoutMs;
  let rows: EnvironmentRow[] = [];
  while (Date.now() < deadline) {
    if (refresh) {
      await api.refresh();
    }
    rows = await api.listEnvironments();
    if (check(rows)) {
      return rows;
    }
    await sleep(250);
  }
  assert.fail(`${what}; the rows were:\n${JSON.stringify(rows, null, 2)}`);
}

export const byLabel = (rows: EnvironmentRow[], label: string) => rows.find((row) => row.label === label);
export const bothFixturesListed = (rows: EnvironmentRow[]) =>
  byLabel(rows, 'Fresh Project') !== undefined && byLabel(rows, 'Populated Project') !== undefined;

export async function setEnvironmentsSetting(value: string[] | undefined): Promise<void> {
  await vscode.workspace.getConfiguration('tracBackup').update('environments', value, vscode.ConfigurationTarget.Workspace);
}
