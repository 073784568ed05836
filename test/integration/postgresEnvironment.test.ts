// A PostgreSQL environment inside the extension host: listed with its server and database (never
// the password), backed up and restored through the commands the tree runs, on a throwaway
// PostgreSQL 15 server this file starts and stops (test/support/dbServers.ts).
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { TracBackupApi } from '../../src/api';
import { PostgresServer, copyServerFixture, startPostgres } from '../support/dbServers';
import { activeApi, byLabel, rowsWhen, workspaceRoot } from './support';

const LABEL = 'Postgres Project';
const ROLE = 'uirole';
const PASSWORD = 'Ui-Secret-7q';

interface BackupResult {
  dest: string;
}

/** Every file under `dir`, as text, with its path: where a password must never be. */
async function everyText(dir: string): Promise<Array<{ file: string; text: string }>> {
  const out: Array<{ file: string; text: string }> = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) {
      const file = path.join(entry.parentPath, entry.name);
      out.push({ file, text: await fs.readFile(file, 'latin1') });
    }
  }
  return out;
}

describe('a PostgreSQL environment (a real PostgreSQL 15 server)', function () {
  this.timeout(120_000);
  let server: PostgresServer;
  let api: TracBackupApi;
  let env: string;
  let database: string;
  before(async () => {
    api = await activeApi();
    server = await startPostgres();
    database = await server.createFixtureDatabase('trac_ui', { role: ROLE, password: PASSWORD });
    env = await copyServerFixture(
      'postgres',
      workspaceRoot(),
      'trac-1.6-postgres',
      server.url(database, { role: ROLE, password: PASSWORD }),
    );
    await rowsWhen(api, (rows) => byLabel(rows, LABEL) !== undefined, `${LABEL} should be listed`);
  });
  after(async () => {
    await server?.stop();
    if (env) {
      await fs.rm(env, { recursive: true, force: true });
      await fs.rm(`${env}-backups`, { recursive: true, force: true });
      for (const name of await fs.readdir(workspaceRoot())) {
        if (name.startsWith('trac-1.6-postgres.before-restore-')) {
          await fs.rm(path.join(workspaceRoot(), name), { recursive: true, force: true });
        }
      }
      await api?.refresh();
    }
  });

  const tickets = async (schema = 'public') => Number(await server.admin(`SELECT count(*) FROM "${schema}".ticket`, database));

  it('lists it with its server and database, never the password', async () => {
    const rows = await rowsWhen(api, (all) => /postgres:\/\//.test(byLabel(all, LABEL)?.tooltip ?? ''), 'the tooltip names the server');
    const row = byLabel(rows, LABEL)!;
    assert.deepEqual(row.problems, []);
    assert.match(row.tooltip, new RegExp(`Database: \`postgres://127\\.0\\.0\\.1:${server.port}/trac_ui\``));
    assert.ok(!JSON.stringify(row).includes(PASSWORD), `the row shows the password: ${JSON.stringify(row)}`);
  });

  it('Back Up writes db/<database>.pgdump with its checksum in the metadata, and no password anywhere in the backup but its copy of trac.ini', async () => {
    const result = await vscode.commands.executeCommand<BackupResult>('tracBackup.environment.backup', vscode.Uri.file(env));
    assert.ok(result, 'the command returned no result (it failed: see the log)');
    const dump = path.join(result.dest, 'db', 'trac_ui.pgdump');
    assert.ok((await fs.stat(dump)).size > 1000, 'the dump is missing or tiny');
    const metadata = await fs.readFile(path.join(result.dest, '.trac-backup.json'), 'utf8');
    assert.match(metadata, /db\/trac_ui\.pgdump/);
    // conf/trac.ini is the environment's own, copied as it is (a restore needs its database URL).
    for (const { file, text } of (await everyText(result.dest)).filter(({ file }) => file !== path.join(result.dest, 'conf', 'trac.ini'))) {
      assert.ok(!text.includes(PASSWORD), `${file} holds the password`);
    }
    assert.equal((await api.listBackups(env)).length, 1);
  });

  it('Restore asks first, naming server, database and both contents; then the backup is back and the old schema kept under the name it showed', async () => {
    const [backup] = await api.listBackups(env);
    await server.admin("INSERT INTO public.ticket (summary, status) VALUES ('after the backup', 'new')", database);
    assert.equal(await tickets(), 61);

    const asked: string[] = [];
    const original = vscode.window.showWarningMessage;
    // The modal cannot be clicked from here (the e2e test clicks it): answer with the confirm button.
    (vscode.window as { showWarningMessage: unknown }).showWarningMessage = (message: string, ...rest: unknown[]) => {
      const options = rest[0] as vscode.MessageOptions | undefined;
      asked.push(`${message}\n${options?.detail ?? ''}`);
      const buttons = rest.slice(1) as vscode.MessageItem[];
      return Promise.resolve(buttons.find((button) => !button.isCloseAffordance));
    };
    let result: { serverDatabase?: { aside?: string | null } } | undefined;
    try {
      result = await vscode.commands.executeCommand('tracBackup.backup.restore', vscode.Uri.file(backup.path));
    } finally {
      (vscode.window as { showWarningMessage: unknown }).showWarningMessage = original;
    }
    assert.equal(asked.length, 1, `prompts: ${asked.join('\n---\n')}`);
    const prompt = asked[0];
    assert.match(prompt, new RegExp(`PostgreSQL postgres://127\\.0\\.0\\.1:${server.port}/trac_ui`));
    assert.match(prompt, /holds 61 tickets, \d+ wiki pages now; the backup holds 60 tickets/);
    const aside = /kept, not deleted, as the schema (public_before_restore_\d{8}_\d{6})/.exec(prompt)?.[1];
    assert.ok(aside, `the prompt names no aside schema:\n${prompt}`);
    assert.ok(!prompt.includes(PASSWORD), 'the prompt shows the password');
    assert.ok(result, 'the restore returned no result (it failed: see the log)');
    assert.equal(result.serverDatabase?.aside, aside, 'the old schema is kept under another name than the prompt showed');

    assert.equal(await tickets(), 60, 'the ticket added after the backup is still there');
    assert.equal(await tickets(aside), 61, `the old data is not kept as ${aside}`);
  });
});
