// "Trac: Back Up Environment" inside the extension host, on the workspace's copy of the populated fixture.
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { TracBackupApi } from '../../src/api';
import { activeApi, bothFixturesListed, rowsWhen, workspaceRoot } from './support';

interface BackupResult {
  dest: string;
  files: number;
  bytes: number;
  lockMs: number;
}

describe('Trac: Back Up Environment', () => {
  let api: TracBackupApi;
  let env: string;
  let backups: string;
  before(async () => {
    api = await activeApi();
    env = path.join(workspaceRoot(), 'trac-1.6-populated');
    backups = `${env}-backups`;
    await rowsWhen(api, bothFixturesListed, 'both fixtures should be listed');
  });
  after(async () => {
    await fs.rm(backups, { recursive: true, force: true });
  });

  it('backs up into <env>-backups/<env>-YYYYMMDD-HHMMSS and lists the backup under the environment', async () => {
    const result = await vscode.commands.executeCommand<BackupResult>('tracBackup.environment.backup', vscode.Uri.file(env));
    assert.ok(result, 'the command returned no result (it failed: see the log)');
    assert.equal(path.dirname(result.dest), backups);
    assert.match(path.basename(result.dest), /^trac-1\.6-populated-\d{8}-\d{6}$/);
    assert.equal((await fs.readFile(path.join(result.dest, 'VERSION'), 'utf8')).split('\n')[0], 'Trac Environment Version 1');
    assert.ok(result.files >= 40 && result.bytes > 0 && result.lockMs >= 0);
    const rows = await api.listBackups(env);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].path, result.dest);
    assert.equal(rows[0].contextValue, 'tracBackup');
    assert.match(rows[0].label, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    assert.match(rows[0].description, /KB|MB/);
  });

  it('never overwrites: a second backup in the same second gets its own name', async () => {
    const [first, second] = await Promise.all([
      vscode.commands.executeCommand<BackupResult>('tracBackup.environment.backup', vscode.Uri.file(env)),
      vscode.commands.executeCommand<BackupResult>('tracBackup.environment.backup', vscode.Uri.file(env)),
    ]);
    assert.ok(first && second, 'one of the two backups failed');
    assert.notEqual(first.dest, second.dest);
    assert.equal((await api.listBackups(env)).length, 3);
  });

  it('does not list its backups as environments', async () => {
    const rows = await rowsWhen(api, bothFixturesListed, 'both fixtures should be listed');
    assert.ok(!rows.some((row) => row.path.startsWith(backups)), 'a backup is listed as an environment');
  });

  it('notices a backup deleted by hand', async () => {
    const [newest] = await api.listBackups(env);
    await fs.rm(newest.path, { recursive: true, force: true });
    const deadline = Date.now() + 15_000;
    while ((await api.listBackups(env)).some((row) => row.path === newest.path) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.ok(!(await api.listBackups(env)).some((row) => row.path === newest.path), 'the deleted backup is still listed');
  });
});
