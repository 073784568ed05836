// "Trac: Back Up Environment" inside the extension host, on the workspace's copy of the populated fixture.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { BackupRow, TracBackupApi } from '../../src/api';
import { isWorkName } from '../../src/core/work/workFolder';
import { activeApi, bothFixturesListed, rowsWhen, workspaceRoot } from './support';

interface BackupResult {
  dest: string;
  files: number;
  bytes: number;
  lockMs: number;
}

/** Runs dist/cli.js (built with the extension) with this Node; returns its standard output, failing on a non-zero exit. */
function runCli(args: string[]): string {
  const cli = path.join(__dirname, '..', '..', '..', 'dist', 'cli.js');
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: process.env });
  assert.equal(result.status, 0, `trac-backup ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
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
  /** The backup's row, once `check` holds for it (the list follows the disk and the store by itself). */
  const backupRow = async (backup: string, check: (row: BackupRow) => boolean) => {
    const deadline = Date.now() + 15_000;
    let row: BackupRow | undefined;
    while (Date.now() < deadline) {
      row = (await api.listBackups(env)).find((candidate) => candidate.path === backup);
      if (row && check(row)) {
        return row;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.fail(`the row of ${backup} is not as expected: ${JSON.stringify(row)}`);
  };

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

  it('Prune Backups… deletes nothing when its prompt is not answered', async () => {
    await vscode.workspace.getConfiguration('tracBackup').update('retention', { keepLast: 1 }, vscode.ConfigurationTarget.Workspace);
    try {
      const before = (await api.listBackups(env)).map((row) => row.path);
      assert.ok(before.length > 1);
      await vscode.commands.executeCommand('tracBackup.backup.prune', vscode.Uri.file(env));
      assert.deepEqual(
        (await api.listBackups(env)).map((row) => row.path),
        before,
      );
    } finally {
      await vscode.workspace.getConfiguration('tracBackup').update('retention', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });

  it('links unchanged files to the newest verified backup (tracBackup.incremental) and says so on the row', async () => {
    const result = await vscode.commands.executeCommand<BackupResult & { incremental: boolean; linkedFiles: number; copiedFiles: number }>(
      'tracBackup.environment.backup',
      vscode.Uri.file(env),
    );
    assert.ok(result, 'the backup failed');
    assert.equal(result.incremental, true);
    assert.ok(result.linkedFiles >= 40, `only ${result.linkedFiles} files were linked`);
    const [row] = await api.listBackups(env);
    assert.equal(row.path, result.dest);
    assert.match(row.tooltip, /Incremental: [\d.]+ (B|KB|MB) of new data/);
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

  it('verifies each new backup at once (tracBackup.verifyAfterBackup), and the row says so', async () => {
    const [row] = await api.listBackups(env);
    assert.match(row.tooltip, /\$\(pass\) Verified/);
    assert.match(row.tooltip, /Verified/);
  });

  it('shares verifications with the CLI: verified there shows verified here, verified here lets the CLI link from it', async () => {
    const made = runCli(['hotcopy', env, path.join(backups, 'trac-1.6-populated-by-cli'), '--json']);
    const fromCli = (JSON.parse(made) as BackupResult).dest;
    const unverified = await backupRow(fromCli, (row) => /Never verified/.test(row.tooltip));
    assert.doesNotMatch(unverified.tooltip, /Verified/);
    runCli(['verify', fromCli]);
    const shown = await backupRow(fromCli, (row) => /\$\(pass\) Verified/.test(row.tooltip));
    assert.match(shown.tooltip, /Verified/);

    const second = (JSON.parse(runCli(['hotcopy', env, path.join(backups, 'trac-1.6-populated-by-cli-2'), '--json'])) as BackupResult).dest;
    await backupRow(second, () => true);
    const verified = await vscode.commands.executeCommand<{ ok: boolean }>('tracBackup.backup.verify', vscode.Uri.file(second));
    assert.equal(verified?.ok, true);
    const third = runCli(['hotcopy', env, path.join(backups, 'trac-1.6-populated-by-cli-3'), '--incremental', '--json']);
    const linked = JSON.parse(third) as BackupResult & { incremental: boolean; linkDest?: string };
    assert.deepEqual([linked.incremental, linked.linkDest], [true, second]);
    await backupRow(linked.dest, () => true); // the next tests take the newest row: this one, once listed
  });

  it('Verify Backup finds a changed attachment, names it, and the row shows the problem', async () => {
    const [row] = await api.listBackups(env);
    const attachments = path.join(row.path, 'files', 'attachments', 'ticket');
    const [parent] = await fs.readdir(attachments);
    const [child] = await fs.readdir(path.join(attachments, parent));
    const folder = path.join(attachments, parent, child);
    const [name] = await fs.readdir(folder);
    const file = path.join(folder, name);
    await fs.chmod(file, 0o644);
    const bytes = await fs.readFile(file);
    bytes[0] ^= 0xff;
    await fs.writeFile(file, bytes);

    const result = await vscode.commands.executeCommand<{ ok: boolean; problems: Array<{ path: string; problem: string }> }>(
      'tracBackup.backup.verify',
      vscode.Uri.file(row.path),
    );
    assert.ok(result, 'the command returned no result');
    assert.equal(result.ok, false);
    assert.deepEqual(
      result.problems.map((problem) => problem.path),
      [path.relative(row.path, file).split(path.sep).join('/')],
    );
    const [after] = await api.listBackups(env);
    assert.match(after.tooltip, /Failed verification .*\(1 problem\)/);
    assert.match(after.tooltip, /Failed verification/);
  });

  it('Restore and Delete change nothing when their prompt is not answered with Restore or Delete', async () => {
    // In the test host VS Code refuses every modal dialog, which answers it as Cancel would.
    const before = await api.listBackups(env);
    const ini = path.join(env, 'conf', 'trac.ini');
    const config = await fs.readFile(ini, 'utf8');
    await vscode.commands.executeCommand('tracBackup.backup.restore', vscode.Uri.file(before[0].path));
    await vscode.commands.executeCommand('tracBackup.backup.delete', vscode.Uri.file(before[0].path));
    assert.equal(await fs.readFile(ini, 'utf8'), config);
    assert.deepEqual(
      (await fs.readdir(path.dirname(env))).filter((name) => name.includes('before-restore')),
      [],
    );
    assert.deepEqual(
      (await api.listBackups(env)).map((row) => row.path),
      before.map((row) => row.path),
    );
  });

  it('Export as Archive… writes a .tar.gz; Restore from Archive… unpacks it, asks, and leaves nothing when not answered', async () => {
    const [row] = await api.listBackups(env);
    const archive = vscode.Uri.file(path.join(path.dirname(env), 'exported.tar.gz'));
    try {
      const exported = await vscode.commands.executeCommand<{ archive: string; archiveBytes: number }>(
        'tracBackup.backup.exportArchive',
        vscode.Uri.file(row.path),
        archive,
      );
      assert.ok(exported, 'the export returned no result');
      assert.equal(exported.archive, archive.fsPath);
      assert.equal((await fs.stat(archive.fsPath)).size, exported.archiveBytes);

      const config = await fs.readFile(path.join(env, 'conf', 'trac.ini'), 'utf8');
      const restored = await vscode.commands.executeCommand('tracBackup.environment.restoreArchive', vscode.Uri.file(env), archive);
      assert.equal(restored, undefined, 'a restore happened without the prompt being answered');
      assert.equal(await fs.readFile(path.join(env, 'conf', 'trac.ini'), 'utf8'), config);
      const left = (await fs.readdir(path.dirname(env))).filter((name) => isWorkName(name) || name.includes('before-restore'));
      assert.deepEqual(left, [], 'the unpacked archive or an aside copy was left beside the environment');
    } finally {
      await fs.rm(archive.fsPath, { force: true });
    }
  });

  it('Export as Archive… refuses a backup holding a link that leads outside it, and writes nothing', async () => {
    const link = path.join(env, 'plugins', 'linked-out.egg');
    await fs.symlink('/opt/trac-plugins/linked-out.egg', link);
    let dest: string | undefined;
    const archive = vscode.Uri.file(path.join(path.dirname(env), 'linked-out.tar.gz'));
    try {
      const backup = await vscode.commands.executeCommand<BackupResult>('tracBackup.environment.backup', vscode.Uri.file(env));
      assert.ok(backup, 'the backup failed');
      dest = backup.dest;
      const exported = await vscode.commands.executeCommand('tracBackup.backup.exportArchive', vscode.Uri.file(dest), archive);
      assert.equal(exported, undefined, 'the export went ahead');
      await assert.rejects(fs.lstat(archive.fsPath), { code: 'ENOENT' });
      assert.deepEqual((await fs.readdir(path.dirname(env))).filter(isWorkName), [], 'a partial archive was left');
    } finally {
      await fs.rm(link, { force: true });
      await fs.rm(archive.fsPath, { force: true });
      if (dest) {
        await fs.rm(dest, { recursive: true, force: true });
      }
    }
  });
});
