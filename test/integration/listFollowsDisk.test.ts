// The list follows the disk and the list commands, inside the extension host.
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { TracBackupApi } from '../../src/api';
import { activeApi, rowsWhen, setEnvironmentsSetting, workspaceRoot } from './support';

describe('The Environments list follows the disk', () => {
  let api: TracBackupApi;
  before(async () => {
    api = await activeApi();
  });

  it('shows an environment that appears, renames it when trac.ini changes, drops it when VERSION goes', async () => {
    const env = path.join(workspaceRoot(), 'watched-env');
    try {
      await fs.cp(path.join(workspaceRoot(), 'trac-1.6-fresh'), env, { recursive: true });
      await rowsWhen(api, (rows) => rows.some((row) => row.path === env), `${env} should appear by itself`, { refresh: false });

      const ini = path.join(env, 'conf', 'trac.ini');
      await fs.writeFile(ini, (await fs.readFile(ini, 'utf8')).replace('name = Fresh Project', 'name = Renamed Project'));
      await rowsWhen(api, (rows) => rows.some((row) => row.path === env && row.label === 'Renamed Project'), 'the new name should show', {
        refresh: false,
      });

      await fs.rm(path.join(env, 'VERSION'));
      await rowsWhen(api, (rows) => !rows.some((row) => row.path === env), `${env} should go once VERSION is gone`, { refresh: false });
    } finally {
      await fs.rm(env, { recursive: true, force: true });
    }
  });

  describe('Add Environment… and Remove from List', () => {
    let outside: string;
    before(async () => {
      outside = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'trac-backup-outside-')));
    });
    after(async () => {
      await setEnvironmentsSetting(undefined);
      await fs.rm(outside, { recursive: true, force: true });
    });

    it('adds an environment outside the workspace to the setting and the list', async () => {
      const env = path.join(outside, 'elsewhere');
      await fs.cp(path.join(workspaceRoot(), 'trac-1.6-populated'), env, { recursive: true });
      await vscode.commands.executeCommand('tracBackup.environment.add', vscode.Uri.file(env));
      const configured = vscode.workspace.getConfiguration('tracBackup').get<string[]>('environments', []);
      assert.deepEqual(configured, [env]);
      const rows = await rowsWhen(api, (current) => current.some((row) => row.path === env), `${env} should be listed`);
      assert.match(rows.find((row) => row.path === env)!.contextValue, /^tracEnvironment\.ok\.setting$/);

      await vscode.commands.executeCommand('tracBackup.environment.remove', vscode.Uri.file(env));
      assert.deepEqual(vscode.workspace.getConfiguration('tracBackup').get<string[]>('environments', []), []);
      await rowsWhen(api, (current) => !current.some((row) => row.path === env), `${env} should be gone`);
    });

    it('follows an environment outside the workspace: trac.ini saved by rename renames it, VERSION removed marks it', async () => {
      const env = path.join(outside, 'followed');
      await fs.cp(path.join(workspaceRoot(), 'trac-1.6-fresh'), env, { recursive: true });
      await setEnvironmentsSetting([env]);
      try {
        await rowsWhen(api, (rows) => rows.some((row) => row.path === env && row.label === 'Fresh Project'), `${env} should be listed`);

        // Editors save by writing a new file and renaming it over the old one.
        const ini = path.join(env, 'conf', 'trac.ini');
        await fs.writeFile(`${ini}.new`, (await fs.readFile(ini, 'utf8')).replace('name = Fresh Project', 'name = Followed Project'));
        await fs.rename(`${ini}.new`, ini);
        await rowsWhen(
          api,
          (rows) => rows.some((row) => row.path === env && row.label === 'Followed Project'),
          'the new name should show',
          {
            refresh: false,
          },
        );

        await fs.rm(path.join(env, 'VERSION'));
        await rowsWhen(
          api,
          (rows) => rows.some((row) => row.path === env && row.problems.some((problem) => /not a Trac environment/i.test(problem))),
          `${env} should show that it is no longer an environment`,
          { refresh: false },
        );
      } finally {
        await setEnvironmentsSetting(undefined);
      }
    });

    it('refuses to add a folder that is not an environment, leaving the setting alone', async () => {
      const plain = path.join(outside, 'plain');
      await fs.mkdir(plain, { recursive: true });
      await vscode.commands.executeCommand('tracBackup.environment.add', vscode.Uri.file(plain));
      assert.deepEqual(vscode.workspace.getConfiguration('tracBackup').get<string[]>('environments', []), []);
      const rows = await api.listEnvironments();
      assert.ok(!rows.some((row) => row.path === plain), 'the refused folder was listed');
    });

    it('hides a workspace environment removed from the list until it is added again', async () => {
      const env = path.join(workspaceRoot(), 'trac-1.6-fresh');
      await vscode.commands.executeCommand('tracBackup.environment.remove', vscode.Uri.file(env));
      await rowsWhen(api, (rows) => !rows.some((row) => row.path === env), 'the hidden environment should not be listed');
      await vscode.commands.executeCommand('tracBackup.environment.add', vscode.Uri.file(env));
      await rowsWhen(api, (rows) => rows.some((row) => row.path === env), 'the environment should be back');
      await setEnvironmentsSetting(undefined);
    });
  });
});
