// An environment folder renamed on disk keeps its backups: the row, the status bar, new backups
// and Prune Backups… find them in the folder named after its old name.
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { TracBackupApi } from '../../src/api';
import type { PruneResult } from '../../src/core/catalog/prune';
import { activeApi, rowsWhen, workspaceRoot } from './support';

interface BackupResult {
  dest: string;
  incremental: boolean;
  linkDest?: string;
  linkedFiles: number;
}

const PROJECT = 'Renamed Later';

describe('A renamed environment keeps its backups', () => {
  let api: TracBackupApi;
  let original: string;
  let renamed: string;
  let folder: string;
  before(async () => {
    api = await activeApi();
    original = path.join(workspaceRoot(), 'rename-me');
    renamed = path.join(workspaceRoot(), 'renamed-env');
    folder = `${original}-backups`;
  });
  after(async () => {
    await vscode.workspace.getConfiguration('tracBackup').update('retention', undefined, vscode.ConfigurationTarget.Workspace);
    for (const dir of [original, renamed, folder, `${renamed}-backups`]) {
      await fs.rm(dir, { recursive: true, force: true });
    }
    await api.refresh();
  });

  it('lists its backups after fs.rename, backs up into the same folder linking from them, and Prune Backups… counts them', async () => {
    await fs.cp(path.join(workspaceRoot(), 'trac-1.6-fresh'), original, { recursive: true, preserveTimestamps: true });
    const ini = path.join(original, 'conf', 'trac.ini');
    await fs.writeFile(ini, (await fs.readFile(ini, 'utf8')).replace('name = Fresh Project', `name = ${PROJECT}`));
    await rowsWhen(api, (rows) => rows.some((row) => row.path === original), `${original} should be listed`);
    const first = await vscode.commands.executeCommand<BackupResult>('tracBackup.environment.backup', vscode.Uri.file(original));
    assert.ok(first, 'the first backup failed (see the log)');
    assert.equal(path.dirname(first.dest), folder);

    await fs.rename(original, renamed);
    const rows = await rowsWhen(
      api,
      (current) => current.some((row) => row.path === renamed) && !current.some((row) => row.path === original),
      `the row should follow the rename to ${renamed}`,
    );
    const row = rows.find((candidate) => candidate.path === renamed)!;
    assert.deepEqual(
      (await api.listBackups(renamed)).map((backup) => backup.path),
      [first.dest],
      'its backup is no longer listed under it',
    );
    assert.equal(row.backupFolder, folder);
    assert.ok(
      row.backupsTooltip.includes(folder) && row.backupsTooltip.includes(original),
      `the tooltip does not say where and why: ${row.backupsTooltip}`,
    );
    assert.match(row.backupsTooltip, /renamed or moved/);
    const bar = api.statusBar();
    assert.match(bar.tooltip, new RegExp(`${PROJECT}: backed up`), `the status bar lost its backup: ${bar.tooltip}`);

    const second = await vscode.commands.executeCommand<BackupResult>('tracBackup.environment.backup', vscode.Uri.file(renamed));
    assert.ok(second, 'the backup after the rename failed (see the log)');
    assert.equal(path.dirname(second.dest), folder, 'the new backup went elsewhere than its other backups');
    assert.deepEqual([second.incremental, second.linkDest], [true, first.dest], 'it did not link from the backup made before the rename');
    assert.ok(second.linkedFiles >= 5, `only ${second.linkedFiles} files linked`);
    await fs.access(`${renamed}-backups`).then(
      () => assert.fail(`a folder ${renamed}-backups was made`),
      () => undefined,
    );

    // Every backup kept (no prompt to answer), so the command returns the plan it made.
    await vscode.workspace.getConfiguration('tracBackup').update('retention', { keepLast: 5 }, vscode.ConfigurationTarget.Workspace);
    const plan = await vscode.commands.executeCommand<PruneResult>('tracBackup.backup.prune', vscode.Uri.file(renamed));
    assert.ok(plan, 'Prune Backups… failed (see the log)');
    assert.deepEqual(plan.keep.map(({ backup }) => backup.path).sort(), [first.dest, second.dest].sort());
  });

  it('fills in the disk its backups take after the rows show', async () => {
    const deadline = Date.now() + 15_000;
    let description = '';
    while (Date.now() < deadline) {
      description = (await api.listEnvironments()).find((row) => row.path === renamed)?.backupsDescription ?? '';
      if (/on disk/.test(description)) {
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.match(description, /^2 · [\d.]+ (KB|MB) on disk$/);
  });
});
