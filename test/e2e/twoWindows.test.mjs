// Two windows on one workspace (two extension hosts, as two VS Code windows have): a restore in
// one while the other backs up, and two schedules firing at once.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import {
  clickContextMenu,
  clickDialogButton,
  dialogText,
  notification,
  openAnotherWindow,
  openViewContainer,
  openWorkbench,
  runCommand,
  screenshot,
  screenshotOnFailure,
  treeRow,
  treeRows,
  viewPane,
  waitUntil,
} from '../harness/workbench.mjs';

const LABEL = 'Populated Project';
const sessions = [];
const children = [];
after(async () => {
  for (const child of children) child.kill('SIGKILL');
  await Promise.all(sessions.map((session) => session.close()));
});

async function backupFolders(env) {
  return (await fs.readdir(`${env}-backups`).catch(() => [])).filter((name) => !name.startsWith('.')).sort();
}

/** Another process holding the database's write lock (as a Trac writing would), until released. */
async function holdDatabaseLock(database) {
  const child = spawn(
    '/usr/bin/python3',
    [
      '-c',
      'import sqlite3, sys\nc = sqlite3.connect(sys.argv[1], isolation_level=None)\nc.execute("BEGIN EXCLUSIVE")\nprint("locked", flush=True)\nsys.stdin.read()',
      database,
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  children.push(child);
  await new Promise((resolve, reject) => {
    child.stdout.once('data', resolve);
    child.once('exit', (code) => reject(new Error(`the lock holder exited (${code})`)));
  });
  return {
    release: () =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.stdin.end();
      }),
  };
}

test('a restore in one window while the other backs up says so, instead of calling that window Trac', async () => {
  const session = await openWorkbench({ fixtures: ['trac-1.6-populated'] });
  sessions.push(session);
  const env = path.join(session.workspace, 'trac-1.6-populated');
  const windowA = session.page;
  await screenshotOnFailure(windowA, 'two-windows-restore', async () => {
    await openViewContainer(windowA, 'Trac');
    const paneA = viewPane(windowA, 'Environments');
    await treeRow(paneA, LABEL).waitFor();
    await runCommand(windowA, 'Trac: Back Up Environment');
    await waitUntil(async () => (await backupFolders(env)).length === 1, 'the first backup on disk', 60_000);
    await treeRow(paneA, LABEL).click();
    await treeRows(paneA, 3).first().waitFor();

    const windowB = await openAnotherWindow(session);
    await openViewContainer(windowB, 'Trac');
    await treeRow(viewPane(windowB, 'Environments'), LABEL).waitFor();
    // Window B's backup waits for the database lock another process holds: it is running.
    const lock = await holdDatabaseLock(path.join(env, 'db', 'trac.db'));
    try {
      await runCommand(windowB, 'Trac: Back Up Environment');
      await notification(windowB, `Backing up ${LABEL}`).waitFor();

      await clickContextMenu(windowA, treeRows(paneA, 3).first(), 'Restore Backup…');
      const text = await dialogText(windowA, "can't be restored now");
      assert.match(text, /a backup in another VS Code window .*\(process \d+, since/);
      assert.doesNotMatch(text, /Trac seems to be running/);
      await screenshot(windowA, 'two-windows-restore-refused');
      await clickDialogButton(windowA, 'OK', "can't be restored now");
    } finally {
      await lock.release();
    }
    // B's backup goes on, whole; then the restore is possible again.
    await waitUntil(async () => (await backupFolders(env)).length === 2, "window B's backup on disk", 60_000);
    await notification(windowB, `Backing up ${LABEL}`).waitFor({ state: 'detached', timeout: 60_000 });
    // Window A's tree must show the new backup before a row is right-clicked: a row replaced by the
    // refresh meanwhile sends its command no backup (which then asks which one).
    await waitUntil(async () => (await treeRows(paneA, 3).count()) === 2, "window B's backup in window A's tree", 60_000);
    await clickContextMenu(windowA, treeRows(paneA, 3).last(), 'Restore Backup…');
    await clickDialogButton(windowA, 'Restore', `Restore ${LABEL}`);
    await waitUntil(
      async () => (await fs.readdir(session.workspace)).some((name) => name.startsWith('trac-1.6-populated.before-restore-')),
      'the restore kept the previous environment aside',
      60_000,
    );
    assert.equal(await notification(windowB, 'failed').count(), 0, "window B's backup failed");
  });
});

test('two windows with a schedule: one backs up each change, no name clash, no false alarm', async () => {
  const session = await openWorkbench({
    fixtures: ['trac-1.6-populated'],
    settings: { 'tracBackup.schedule': 'hourly', 'tracBackup.verifyAfterBackup': false },
    env: { TRAC_BACKUP_SCHEDULE_INTERVAL_MS: '3000' },
  });
  sessions.push(session);
  const env = path.join(session.workspace, 'trac-1.6-populated');
  const windowA = session.page;
  const windowB = await openAnotherWindow(session);
  await screenshotOnFailure(windowA, 'two-windows-schedule', async () => {
    await waitUntil(async () => (await backupFolders(env)).length >= 1, 'the first scheduled backup', 60_000);
    for (let change = 1; change <= 3; change++) {
      await new Promise((resolve) => setTimeout(resolve, 7000)); // two intervals: a duplicate would show
      assert.equal(
        (await backupFolders(env)).length,
        change,
        `the same state was backed up twice: ${(await backupFolders(env)).join(', ')}`,
      );
      await fs.appendFile(path.join(env, 'conf', 'trac.ini'), `\n# change ${change}\n`);
      await waitUntil(async () => (await backupFolders(env)).length === change + 1, `the backup of change ${change}`, 60_000);
    }
    await new Promise((resolve) => setTimeout(resolve, 7000));
    const made = await backupFolders(env);
    assert.equal(made.length, 4, `one backup per state: ${made.join(', ')}`);
    assert.ok(!made.some((name) => /-\d{6}-\d+$/.test(name)), `a name clash made a -2 backup: ${made.join(', ')}`);
    for (const window of [windowA, windowB]) {
      assert.equal(await notification(window, 'failed').count(), 0, 'a window reported a failure');
      assert.equal(await notification(window, "can't overwrite").count(), 0, 'a window reported a name clash');
    }
  });
});
