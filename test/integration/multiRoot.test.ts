// Runs alone, in a multi-root workspace whose folders have settings of their own (made by
// makeMultiRootWorkspace in test/harness/tempDirs.mjs), with the schedule's interval shortened
// to seconds (TRAC_BACKUP_SCHEDULE_INTERVAL_MS):
//   alpha/env-a  no settings of its own: the workspace's (no schedule, backups beside it)
//   beta/env-b   backupFolder "backups", schedule "hourly", environments ["deep/down/below/the/env-d"]
//   gamma/env-c  backupFolder "not-a-folder/backups" (a file is in the way), schedule "daily",
//                environmentParents ["far/away/down/here"] (holding env-p)
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { TracBackupApi } from '../../src/api';
import { activeApi, rowsWhen, sleep } from './support';

const INTERVAL_MS = Number(process.env.TRAC_BACKUP_SCHEDULE_INTERVAL_MS);

function folder(name: string): string {
  const found = vscode.workspace.workspaceFolders?.find((candidate) => candidate.name === name);
  assert.ok(found, `the workspace has no folder ${name}: ${JSON.stringify(vscode.workspace.workspaceFolders?.map((each) => each.name))}`);
  return found.uri.fsPath;
}

async function backupsIn(dir: string): Promise<string[]> {
  return (await fs.readdir(dir).catch(() => [])).filter((name) => !name.startsWith('.'));
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      assert.fail(`timed out waiting until ${what}`);
    }
    await sleep(250);
  }
}

describe('A multi-root workspace: each folder its own settings', function () {
  this.timeout(120_000); // the schedule's rounds are seconds apart
  let api: TracBackupApi;
  let envA: string;
  let envB: string;
  let envC: string;
  before(async () => {
    assert.ok(INTERVAL_MS > 0, 'TRAC_BACKUP_SCHEDULE_INTERVAL_MS is not set for this session');
    assert.ok(vscode.workspace.workspaceFile, 'this session is not a multi-root workspace');
    api = await activeApi();
    [envA, envB, envC] = [path.join(folder('alpha'), 'env-a'), path.join(folder('beta'), 'env-b'), path.join(folder('gamma'), 'env-c')];
    await rowsWhen(
      api,
      (rows) => [envA, envB, envC].every((env) => rows.some((row) => row.path === env)),
      'the three environments should be listed',
    );
  });

  it("lists the environments a folder's own environments and environmentParents name, relative to that folder", async () => {
    const deep = path.join(folder('beta'), 'deep', 'down', 'below', 'the', 'env-d');
    const parented = path.join(folder('gamma'), 'far', 'away', 'down', 'here', 'env-p');
    const rows = await rowsWhen(
      api,
      (current) => [deep, parented].every((env) => current.some((row) => row.path === env)),
      'both should be listed',
    );
    assert.deepEqual(
      [deep, parented].map((env) => rows.find((row) => row.path === env)?.contextValue),
      ['tracEnvironment.ok.setting', 'tracEnvironment.ok.parent'],
    );
    const elsewhere = rows.filter((row) => row.path.startsWith(`${folder('alpha')}${path.sep}deep`) || row.problems.length);
    assert.deepEqual(elsewhere, [], 'a folder setting was taken from another folder');
  });

  it("takes each environment's backup folder from its own folder's settings, a relative path from that folder", async () => {
    const rows = await api.listEnvironments();
    const folderOf = (env: string) => rows.find((row) => row.path === env)?.backupFolder;
    assert.equal(folderOf(envA), `${envA}-backups`, 'alpha has no setting: beside the environment');
    assert.equal(folderOf(envB), path.join(folder('beta'), 'backups'));
    assert.equal(folderOf(envC), path.join(folder('gamma'), 'not-a-folder', 'backups'));
  });

  it("backs up by beta's hourly schedule into beta/backups, and never backs up alpha, which has no schedule", async () => {
    const betaBackups = path.join(folder('beta'), 'backups');
    await until('the schedule made a backup of beta into beta/backups', async () => (await backupsIn(betaBackups)).length > 0);
    await until('the backup of beta shows under it', async () => (await api.listBackups(envB)).length > 0, 15_000);
    assert.ok((await api.listBackups(envB)).every((row) => path.dirname(row.path) === betaBackups));
    // Several rounds of the schedule later, alpha still has none, and nothing went beside beta.
    await sleep(3 * INTERVAL_MS);
    assert.deepEqual(await backupsIn(`${envA}-backups`), [], 'alpha was backed up by a schedule it does not have');
    assert.deepEqual(await api.listBackups(envA), []);
    await fs.access(`${envB}-backups`).then(
      () => assert.fail(`${envB}-backups was made: beta's backupFolder was not read`),
      () => undefined,
    );
  });

  it('backs alpha up beside it, and beta into beta/backups, by the command too', async () => {
    const a = await vscode.commands.executeCommand<{ dest: string }>('tracBackup.environment.backup', vscode.Uri.file(envA));
    assert.ok(a, 'the backup of alpha failed (see the log)');
    assert.equal(path.dirname(a.dest), `${envA}-backups`);
    const b = await vscode.commands.executeCommand<{ dest: string }>('tracBackup.environment.backup', vscode.Uri.file(envB));
    assert.ok(b, 'the backup of beta failed (see the log)');
    assert.equal(path.dirname(b.dest), path.join(folder('beta'), 'backups'));
  });

  it("colours the status bar by each environment's own schedule: gamma's backups fail, so it is overdue; alpha, unscheduled, never is", async () => {
    await until('the status bar is on its warning colour', () => api.statusBar().warning, 30_000);
    const { tooltip } = api.statusBar();
    assert.match(tooltip, /^Gamma Project: no backup yet \(daily, overdue\)$/m);
    assert.match(tooltip, /^Alpha Project: backed up [^(\n]+ \(not scheduled\)$/m);
    assert.match(tooltip, /^Beta Project: backed up [^\n]+\(hourly/m);
    assert.match(tooltip, /A backup is older than the schedule allows/);
  });
});
