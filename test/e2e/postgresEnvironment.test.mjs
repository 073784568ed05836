// A PostgreSQL environment in the tree, as a person lives it: its row shows the server and
// database (never the password), Back Up on its row dumps the database into the backup, Restore
// on the backup's row asks first (naming server, database and what each holds) and then brings
// the backup's data back, keeping the old schema under the name the prompt showed. On a
// throwaway PostgreSQL 15 server (test/support/dbServers.ts, compiled into out/ by the runner).
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import {
  clickContextMenu,
  clickDialogButton,
  dialogText,
  notification,
  openViewContainer,
  openWorkbench,
  runCommand,
  screenshot,
  screenshotOnFailure,
  treeRow,
  viewPane,
  waitUntil,
  cutOffRows,
  moveMouseAway,
} from '../harness/workbench.mjs';

const require = createRequire(import.meta.url);
const { copyServerFixture, startPostgres } = require('../../out/test/support/dbServers.js');

const LABEL = 'Postgres Project';
const ROLE = 'e2erole';
const PASSWORD = 'E2e-Secret-9k';
const DATABASE = 'trac_e2e';

let server;
let session;
let env;
let pane;
before(async () => {
  server = await startPostgres();
  await server.createFixtureDatabase(DATABASE, { role: ROLE, password: PASSWORD });
  const url = server.url(DATABASE, { role: ROLE, password: PASSWORD });
  session = await openWorkbench({
    prepare: async (workspace) => {
      env = await copyServerFixture('postgres', workspace, 'trac-1.6-postgres', url);
    },
  });
  await openViewContainer(session.page, 'Trac');
  pane = viewPane(session.page, 'Environments');
  await treeRow(pane, LABEL).waitFor();
});
after(async () => {
  await session?.close();
  await server?.stop();
});

const tickets = async (schema = 'public') => Number(await server.admin(`SELECT count(*) FROM "${schema}".ticket`, DATABASE));
const display = () => `postgres://127.0.0.1:${server.port}/${DATABASE}`;

test('the environment row shows its database and size (the server in the tooltip), never the password, nothing cut off', async () => {
  const { page } = session;
  await screenshotOnFailure(page, 'postgres-tree', async () => {
    await treeRow(pane, LABEL).click();
    // The row settles once the server has answered (the size of its tables, read off the server).
    const databaseRow = pane.locator('.monaco-list-row[aria-level="2"]', { hasText: new RegExp(`${DATABASE} · [\\d.]+ (KB|MB)`) });
    await databaseRow.waitFor();
    const text = await databaseRow.innerText();
    assert.match(text, /Database/);
    assert.doesNotMatch(text, /unreachable/);
    assert.ok(!(await pane.innerText()).includes(PASSWORD), 'the tree shows the password');
    assert.deepEqual(await cutOffRows(pane), [], 'rows cut off at the default sidebar width');
    await screenshot(page, 'postgres-tree');
    // The server and Trac's database version are in the tooltip.
    await databaseRow.hover();
    const hover = page.locator('.monaco-hover, .workbench-hover', { hasText: display() });
    await hover.first().waitFor();
    assert.match(await hover.first().innerText(), /Trac database version 45/);
    await screenshot(page, 'postgres-tree-tooltip');
    await moveMouseAway(page);
  });
});

test('Back Up on its row writes db/<database>.pgdump, with no password in the backup', async () => {
  const { page } = session;
  await screenshotOnFailure(page, 'postgres-backup', async () => {
    await clickContextMenu(page, treeRow(pane, LABEL), 'Back Up Environment');
    const backups = `${env}-backups`;
    const name = await waitUntil(
      async () => (await fs.readdir(backups).catch(() => [])).find((entry) => !entry.startsWith('.')),
      'the backup on disk',
      90_000,
    );
    await notification(page, `Backing up ${LABEL}`).waitFor({ state: 'detached', timeout: 90_000 });
    const backup = path.join(backups, name);
    assert.ok((await fs.stat(path.join(backup, 'db', `${DATABASE}.pgdump`))).size > 1000, 'no dump in the backup');
    const metadata = await fs.readFile(path.join(backup, '.trac-backup.json'), 'utf8');
    assert.match(metadata, new RegExp(`db/${DATABASE}\\.pgdump`));
    assert.ok(!metadata.includes(PASSWORD), 'the metadata holds the password');
    await pane.locator('.monaco-list-row[aria-level="3"]').first().waitFor();
    await screenshot(page, 'postgres-backup-in-tree');
    await runCommand(page, 'Notifications: Clear All Notifications');
  });
});

test('Restore on the backup row names server, database and contents; then the backup is back and the old schema kept as the prompt said', async () => {
  const { page } = session;
  await screenshotOnFailure(page, 'postgres-restore', async () => {
    await server.admin("INSERT INTO public.ticket (summary, status) VALUES ('after the backup', 'new')", DATABASE);
    assert.equal(await tickets(), 61);
    const backupRow = pane.locator('.monaco-list-row[aria-level="3"]').first();
    await clickContextMenu(page, backupRow, 'Restore Backup…');
    const text = await dialogText(page, `Restore ${LABEL}`);
    assert.ok(text.includes(`PostgreSQL ${display()}`), `the prompt does not name the server and database:\n${text}`);
    assert.match(text, /holds 61 tickets, \d+ wiki pages now; the backup holds 60 tickets, \d+ wiki pages/);
    const aside = /kept, not deleted, as the schema (public_before_restore_\d{8}_\d{6})/.exec(text)?.[1];
    assert.ok(aside, `the prompt names no aside schema:\n${text}`);
    assert.ok(!text.includes(PASSWORD), 'the prompt shows the password');
    await screenshot(page, 'postgres-restore-prompt');
    await clickDialogButton(page, 'Restore', `Restore ${LABEL}`);
    await notification(page, `Restored ${LABEL}`).waitFor({ timeout: 90_000 });
    // The notification says where the old data is kept, as the prompt did.
    await notification(page, aside).waitFor({ timeout: 10_000 });
    await screenshot(page, 'postgres-restore-done');
    assert.equal(await tickets(), 60, 'the ticket added after the backup is still there');
    assert.equal(await tickets(aside), 61, `the old data is not kept as ${aside}`);
    await runCommand(page, 'Notifications: Clear All Notifications');
  });
});
