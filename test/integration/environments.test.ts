// Runs inside the extension host, in a workspace holding copies of trac-1.6-fresh and
// trac-1.6-populated (made by test/harness/run-integration.mjs or run-electron.mjs).
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { TracBackupApi } from '../../src/api';
import { EXTENSION_ID, byLabel, bothFixturesListed, rowsWhen, setEnvironmentsSetting, sleep, workspaceRoot } from './support';

describe('Trac Backup in the extension host', () => {
  let extension: vscode.Extension<TracBackupApi>;
  let api: TracBackupApi;

  before(() => {
    const found = vscode.extensions.getExtension<TracBackupApi>(EXTENSION_ID);
    assert.ok(found, `extension ${EXTENSION_ID} is not installed`);
    extension = found;
  });

  it('activates by itself in a workspace that holds a Trac environment', async () => {
    const deadline = Date.now() + 20_000;
    while (!extension.isActive && Date.now() < deadline) {
      await sleep(100);
    }
    assert.ok(extension.isActive, 'not active 20 s after start (activation event workspaceContains:**/conf/trac.ini)');
    api = await extension.activate();
    assert.equal(typeof api?.listEnvironments, 'function', 'activate() returns no listEnvironments()');
    assert.equal(typeof api?.refresh, 'function', 'activate() returns no refresh()');
  });

  it('registers every command it contributes', async () => {
    const { contributes } = extension.packageJSON as { contributes?: { commands?: Array<{ command: string }> } };
    const contributed = (contributes?.commands ?? []).map((entry) => entry.command);
    assert.ok(contributed.length > 0, 'package.json contributes no commands');
    const registered = new Set(await vscode.commands.getCommands(true));
    assert.deepEqual(
      contributed.filter((id) => !registered.has(id)),
      [],
      'contributed but not registered',
    );
  });

  describe('the Environments list', () => {
    before(async () => {
      api ??= await extension.activate();
    });

    afterEach(async () => {
      await setEnvironmentsSetting(undefined);
    });

    it('lists both fixture environments by their project names, without problems', async () => {
      const root = workspaceRoot();
      const rows = await rowsWhen(api, bothFixturesListed, 'both fixtures should be listed');
      const fresh = byLabel(rows, 'Fresh Project')!;
      const populated = byLabel(rows, 'Populated Project')!;
      assert.equal(fresh.path, path.join(root, 'trac-1.6-fresh'));
      assert.equal(populated.path, path.join(root, 'trac-1.6-populated'));
      for (const row of [fresh, populated]) {
        assert.deepEqual(row.problems, [], `${row.label} has problems`);
        assert.match(row.contextValue, /^tracEnvironment\.ok/, `${row.label} is not offered for backup`);
      }
      assert.equal(rows.length, 2, 'only the two fixtures are in the workspace');
    });

    it('shows a problem for a configured path that does not exist, and still lists the others', async () => {
      const missing = path.join(os.tmpdir(), `trac-backup-missing-${process.pid}-${Date.now()}`);
      await setEnvironmentsSetting([missing]);
      const rows = await rowsWhen(
        api,
        (current) => current.some((row) => row.path === missing) && bothFixturesListed(current),
        `a row for ${missing} and both fixtures should be listed`,
      );
      const row = rows.find((candidate) => candidate.path === missing)!;
      assert.ok(row.problems.length > 0, 'the missing environment has no problem');
      assert.doesNotMatch(row.contextValue, /^tracEnvironment\.ok/, 'a missing environment is offered for backup');
    });

    it('shows a problem for a configured folder that is not a Trac environment', async () => {
      const folder = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'trac-backup-not-env-')));
      try {
        await fs.writeFile(path.join(folder, 'README.txt'), 'not a Trac environment\n');
        await setEnvironmentsSetting([folder]);
        const rows = await rowsWhen(api, (current) => current.some((row) => row.path === folder), `a row for ${folder} should be listed`);
        const row = rows.find((candidate) => candidate.path === folder)!;
        assert.ok(row.problems.length > 0, 'the folder that is not an environment has no problem');
        assert.ok(bothFixturesListed(rows), 'the fixtures are no longer listed');
      } finally {
        await fs.rm(folder, { recursive: true, force: true });
      }
    });
  });
});
