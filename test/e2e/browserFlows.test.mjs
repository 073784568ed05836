// The flows a new user walked through in code-server (issue 14), each checked on what settles:
// a backup's result offers no button that fails in a browser, and the row's Copy Path puts the
// path on the clipboard; Export with the proposed name writes <backup>.tar.gz outside the backup
// folder; Prune says "permanently" and names backups as the tree does; the restore prompt's
// kept-aside name is the folder the restore makes.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, beforeEach, test } from 'node:test';
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
  treeRows,
  viewPane,
  waitUntil,
  rowsDescribed,
  rowsNotDescribed,
} from '../harness/workbench.mjs';

const LABEL = 'Populated Project';
const NAME = 'trac-1.6-populated';

let session;
let env;
let backups;
let pane;

async function backupFolders() {
  return (await fs.readdir(backups).catch(() => [])).filter((name) => !name.startsWith('.') && !name.endsWith('.tar.gz')).sort();
}

/** The rows of backups made by Back Up (not a copy a restore kept), newest first. */
const backupRows = () => rowsNotDescribed(pane, 3, 'kept');

async function backUp(count) {
  await runCommand(session.page, 'Trac: Back Up Environment');
  await waitUntil(async () => (await backupFolders()).length === count, `backup ${count} on disk`, 60_000);
  await waitUntil(async () => (await backupRows().count()) === count, `backup ${count} in the tree`, 30_000);
}

before(async () => {
  session = await openWorkbench({
    fixtures: [NAME],
    settings: { 'tracBackup.verifyAfterBackup': false, 'tracBackup.retention': { keepLast: 1 } },
  });
  env = path.join(session.workspace, NAME);
  backups = `${env}-backups`;
  await session.browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: session.server.origin });
  await openViewContainer(session.page, 'Trac');
  pane = viewPane(session.page, 'Environments');
  await treeRow(pane, LABEL).waitFor();
  await treeRow(pane, LABEL).click();
});
after(async () => {
  await session?.close();
});

/** A test that failed may leave a dialog or a menu open: closed before the next one starts. */
beforeEach(async () => {
  for (let i = 0; i < 2; i++) await session.page.keyboard.press('Escape');
  await session.page.locator('.monaco-dialog-box').waitFor({ state: 'detached', timeout: 5000 });
});

async function clipboardText(page) {
  return page.evaluate(() => globalThis.navigator.clipboard.readText());
}

test('in the browser a backup offers Copy Path, not a Reveal that fails, and the row menu copies the path', async () => {
  const { page } = session;
  await screenshotOnFailure(page, 'reveal-in-browser', async () => {
    await runCommand(page, 'Trac: Back Up Environment');
    const done = notification(page, `Backed up ${LABEL}`);
    await done.waitFor({ timeout: 60_000 });
    const buttons = await done.locator('a.monaco-button').allInnerTexts();
    assert.ok(!buttons.some((label) => /Reveal/.test(label)), `the notification offers ${buttons.join(', ')}`);
    assert.ok(buttons.includes('Copy Path'), `the notification offers ${buttons.join(', ')}`);
    const [made] = await backupFolders();
    await done.locator('a.monaco-button', { hasText: 'Copy Path' }).click();
    await waitUntil(async () => (await clipboardText(page)) === path.join(backups, made), 'the backup path on the clipboard', 10_000);

    await waitUntil(async () => (await backupRows().count()) === 1, 'the backup row', 30_000);
    await page.evaluate(() => globalThis.navigator.clipboard.writeText(''));
    await backupRows().first().click({ button: 'right' });
    const menu = page.locator('.context-view .monaco-menu');
    await menu.waitFor();
    const entries = await menu.locator('.action-label').allInnerTexts();
    await page.keyboard.press('Escape');
    await menu.waitFor({ state: 'detached' });
    assert.ok(!entries.some((label) => /Reveal/.test(label)), `the row menu offers ${entries.join(', ')}`);
    await clickContextMenu(page, backupRows().first(), 'Copy Path');
    await waitUntil(async () => (await clipboardText(page)) === path.join(backups, made), 'the row path on the clipboard', 10_000);
    await runCommand(page, 'Notifications: Clear All Notifications');
  });
});

test('Export as Archive… with the proposed name writes <backup>.tar.gz in the workspace, not in the backup folder', async () => {
  const { page } = session;
  await screenshotOnFailure(page, 'export-default-name', async () => {
    const [made] = await backupFolders();
    await clickContextMenu(page, backupRows().first(), 'Export as Archive…');
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor();
    await page.waitForFunction((box) => box.value.endsWith('.tar.gz'), await input.elementHandle());
    const proposed = await input.inputValue();
    assert.ok(!proposed.startsWith(backups), `the dialog proposes the backup folder: ${proposed}`);
    await screenshot(page, 'export-dialog');
    await page.keyboard.press('Enter');
    const archive = path.join(session.workspace, `${made}.tar.gz`);
    await waitUntil(
      async () => (await fs.stat(archive).catch(() => undefined))?.isFile(),
      `${archive} on disk (the workspace holds ${(await fs.readdir(session.workspace)).join(', ')})`,
      60_000,
    );
    const archives = (await fs.readdir(session.workspace)).filter((name) => name.endsWith('.tar.gz'));
    assert.deepEqual(archives, [`${made}.tar.gz`]);
    assert.deepEqual(
      (await fs.readdir(backups)).filter((name) => name.endsWith('.tar.gz')),
      [],
      'an archive was written into the backup folder',
    );
  });
});

test('Prune Backups… says the backups go permanently and lists them by the date the tree shows', async () => {
  const { page } = session;
  await screenshotOnFailure(page, 'prune-permanently', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1100)); // a new name each second
    await backUp(2);
    const [oldest, newest] = await backupFolders();
    const oldestLabel = await backupRows().nth(1).locator('.label-name').innerText();
    await runCommand(page, 'Trac: Prune Backups…');
    const text = await dialogText(page, 'of the 2 backups');
    assert.match(text, /permanently/);
    assert.ok(text.includes(oldestLabel), `the prompt does not name the backup as the tree does (${oldestLabel}):\n${text}`);
    assert.ok(text.includes(oldest), 'the prompt does not give the folder name');
    const buttons = await page.locator('.monaco-dialog-box a.monaco-button').allInnerTexts();
    assert.ok(buttons.includes('Delete 1 Backup'), `the prompt offers ${buttons.join(', ')}`);
    await screenshot(page, 'prune-prompt');
    await clickDialogButton(page, 'Delete 1 Backup', 'of the 2 backups');
    await waitUntil(async () => (await backupFolders()).join() === newest, 'the oldest backup gone', 30_000);
    await waitUntil(async () => (await backupRows().count()) === 1, 'one backup row', 30_000);
  });
});

test('the kept-aside name the restore prompt promises is the folder the restore makes', async () => {
  const { page } = session;
  await screenshotOnFailure(page, 'restore-kept-name', async () => {
    await clickContextMenu(page, backupRows().first(), 'Restore Backup…');
    const text = await dialogText(page, `Restore ${LABEL}`);
    const promised = /kept, not deleted, as (\S+)/.exec(text)?.[1];
    assert.ok(promised, `the prompt names no kept copy:\n${text}`);
    await screenshot(page, 'restore-prompt-kept-name');
    // A person reads the prompt: the clock moves on before Restore is clicked.
    await new Promise((resolve) => setTimeout(resolve, 2100));
    await clickDialogButton(page, 'Restore', `Restore ${LABEL}`);
    const kept = await waitUntil(
      async () => (await fs.readdir(session.workspace)).find((name) => name.startsWith(`${NAME}.before-restore-`)),
      'the kept copy on disk',
      60_000,
    );
    assert.equal(path.join(session.workspace, kept), promised);
    await rowsDescribed(pane, 3, 'kept').waitFor({ timeout: 30_000 });
    assert.ok((await treeRows(pane, 3).count()) >= 2);
  });
});
