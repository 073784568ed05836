// Scheduled backups and retention as a person sees them: the status bar item updates when the
// schedule backs up (interval shortened for the test), and Prune Backups… asks before deleting.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import {
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
} from '../harness/workbench.mjs';

const LABEL = 'Populated Project';
const sessions = [];
after(async () => {
  await Promise.all(sessions.map((session) => session.close()));
});

async function backupFolders(env) {
  return (await fs.readdir(`${env}-backups`).catch(() => [])).filter((name) => !name.startsWith('.'));
}

async function until(what, check, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

test('the schedule backs up by itself, the status bar says so, and retention keeps the newest', async () => {
  const session = await openWorkbench({
    fixtures: ['trac-1.6-populated'],
    settings: { 'tracBackup.schedule': 'hourly', 'tracBackup.retention': { keepLast: 1 } },
    env: { TRAC_BACKUP_SCHEDULE_INTERVAL_MS: '4000' },
  });
  sessions.push(session);
  const { page } = session;
  const env = path.join(session.workspace, 'trac-1.6-populated');
  await screenshotOnFailure(page, 'schedule-status-bar', async () => {
    const status = page.locator('.part.statusbar .statusbar-item', { hasText: 'Trac:' });
    // No backup yet: the schedule is due at once.
    await until('the schedule made a first backup', async () => (await backupFolders(env)).length === 1);
    await status
      .filter({ hasText: /Trac: (just now|now|\d+ seconds? ago)/ })
      .first()
      .waitFor({ timeout: 30_000 });
    const [first] = await backupFolders(env);
    await openViewContainer(page, 'Trac');
    await treeRow(viewPane(page, 'Environments'), LABEL).waitFor();
    await screenshot(page, 'schedule-status-bar');

    // A change: the next round backs up again and retention (keepLast 1) removes the first backup.
    await fs.appendFile(path.join(env, 'conf', 'trac.ini'), '\n# changed for the schedule\n');
    await until('a second scheduled backup replaced the first', async () => {
      const now = await backupFolders(env);
      return now.length === 1 && now[0] !== first;
    });
    assert.equal(await notification(page, 'failed').count(), 0, 'the schedule reported a failure');
  });
});

test('Prune Backups… lists what goes and what stays, and deletes only after confirmation', async () => {
  const session = await openWorkbench({
    fixtures: ['trac-1.6-populated'],
    settings: { 'tracBackup.retention': { keepLast: 1 }, 'tracBackup.verifyAfterBackup': false },
  });
  sessions.push(session);
  const { page } = session;
  const env = path.join(session.workspace, 'trac-1.6-populated');
  await screenshotOnFailure(page, 'prune-prompt', async () => {
    await openViewContainer(page, 'Trac');
    await treeRow(viewPane(page, 'Environments'), LABEL).waitFor();
    for (let made = 1; made <= 2; made++) {
      await runCommand(page, 'Trac: Back Up Environment');
      await until(`backup ${made} exists`, async () => (await backupFolders(env)).length === made);
      await new Promise((resolve) => setTimeout(resolve, 1100)); // a new name each second
    }
    const [newest, oldest] = (await backupFolders(env)).sort().reverse();

    await runCommand(page, 'Trac: Prune Backups…');
    const text = await dialogText(page, 'Delete 1 of the 2 backups');
    assert.match(text, new RegExp(`Will be deleted permanently \\(1\\), not moved to the trash:\\s+[^\\n]*\\(${oldest}\\)`));
    assert.match(text, new RegExp(`Will stay \\(1\\):\\s+[^\\n]*\\(${newest}\\)`));
    await screenshot(page, 'prune-prompt');
    await clickDialogButton(page, 'Cancel', 'Delete 1 of the 2 backups');
    assert.deepEqual((await backupFolders(env)).sort(), [oldest, newest].sort(), 'Cancel deleted something');

    await runCommand(page, 'Trac: Prune Backups…');
    await clickDialogButton(page, 'Delete 1 Backup', 'Delete 1 of the 2 backups');
    await until('the oldest backup is gone', async () => (await backupFolders(env)).length === 1);
    assert.deepEqual(await backupFolders(env), [newest]);
    await screenshot(page, 'prune-done');
  });
});
