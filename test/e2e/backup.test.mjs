// "Trac: Back Up Environment" as a person runs it: from the palette, watching the progress
// notification, then finding the backup under the environment; and cancelling one midway.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import {
  clickNotificationButton,
  notification,
  openViewContainer,
  openWorkbench,
  runCommand,
  screenshot,
  screenshotOnFailure,
  treeRow,
  treeRows,
  viewPane,
  waitForNotificationGone,
} from '../harness/workbench.mjs';
import { holdDatabaseLock } from '../harness/databaseLock.mjs';

const LABEL = 'Populated Project';
/** Enough extra bytes that the copy lasts long enough to watch, and to cancel. */
const EXTRA_FILES = 48;
const EXTRA_FILE_BYTES = 8 * 1024 * 1024;

let session;
let env;
let backups;
before(async () => {
  // Full copies: an incremental second backup would link everything and finish before Cancel.
  session = await openWorkbench({ fixtures: ['trac-1.6-populated'], settings: { 'tracBackup.incremental': false } });
  env = path.join(session.workspace, 'trac-1.6-populated');
  backups = `${env}-backups`;
  const extra = path.join(env, 'files', 'attachments', 'ticket', 'e2e', 'large');
  await fs.mkdir(extra, { recursive: true });
  for (let index = 0; index < EXTRA_FILES; index++) {
    await fs.writeFile(path.join(extra, `blob-${index}.bin`), randomBytes(EXTRA_FILE_BYTES));
  }
});
after(async () => {
  await session?.close();
});

async function backupFolderEntries() {
  return fs.readdir(backups).catch(() => []);
}

test('a backup from the palette shows its progress, then its row under the environment', async () => {
  const { page } = session;
  await screenshotOnFailure(page, 'backup-progress', async () => {
    await openViewContainer(page, 'Trac');
    const pane = viewPane(page, 'Environments');
    await treeRow(pane, LABEL).waitFor();

    await runCommand(page, 'Trac: Back Up Environment');
    const progress = notification(page, `Backing up ${LABEL}`);
    await progress.waitFor();
    await page.locator('.notifications-toasts .notification-toast', { hasText: /\d+%/ }).first().waitFor();
    await screenshot(page, 'backup-progress');

    const done = notification(page, `Backed up ${LABEL}`);
    await done.waitFor({ timeout: 120_000 });
    const message = await done.innerText();
    assert.match(message, /writers held for \d+ ms/);
    // In a browser VS Code has no revealFileInOS: the notification offers what works there.
    assert.match(message, /Copy Path/);
    assert.doesNotMatch(message, /Reveal in File Explorer/);

    const [name, ...others] = await backupFolderEntries();
    assert.deepEqual(others, [], 'more than one entry in the backup folder');
    assert.match(name, /^trac-1\.6-populated-\d{8}-\d{6}$/);

    await treeRow(pane, LABEL).click();
    await treeRow(pane, 'Backups').waitFor();
    const backupRow = treeRows(pane, 3).first();
    await backupRow.waitFor();
    assert.match(await backupRow.innerText(), /\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}[\s\S]*MB/);
    await screenshot(page, 'backup-row-in-tree');
  });
});

test('Cancel on the progress notification stops the backup and leaves nothing behind', async () => {
  const { page } = session;
  await screenshotOnFailure(page, 'backup-cancelled', async () => {
    const before = await backupFolderEntries();
    await runCommand(page, 'Notifications: Clear All Notifications');
    // A writer holds the database: the backup cannot finish before Cancel, however fast the copy
    // (its progress notification shows only after a second).
    const lock = await holdDatabaseLock(path.join(env, 'db', 'trac.db'));
    try {
      await runCommand(page, 'Trac: Back Up Environment');
      await notification(page, `Backing up ${LABEL}`).waitFor();
      await screenshot(page, 'backup-cancel-offered');
      await clickNotificationButton(page, `Backing up ${LABEL}`, 'Cancel');
      await waitForNotificationGone(page, `Backing up ${LABEL}`);
    } finally {
      await lock.release();
    }
    // Give a cancelled copy time to clean up, then nothing new may remain: no backup, no temporary folder.
    const deadline = Date.now() + 10_000;
    let after = await backupFolderEntries();
    while (after.length !== before.length && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      after = await backupFolderEntries();
    }
    assert.deepEqual(after, before, 'the cancelled backup left something in the backup folder');
    assert.equal(await notification(page, 'Backed up').count(), 0, 'a cancelled backup reported success');
    await screenshot(page, 'backup-cancelled');
  });
});
