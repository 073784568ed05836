// Offsite copies from the tree, as a person makes them: a backup sent from its row (the password
// asked once, the repository initialised after a prompt), a second one sent without asking, the
// snapshots listed under the environment's Offsite row, and the environment restored from the
// newest of them through the usual prompt. Real restic, a local repository in a temp folder.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import {
  clickContextMenu,
  clickDialogButton,
  cutOffRows,
  moveMouseAway,
  notification,
  openViewContainer,
  openWorkbench,
  runCommand,
  screenshot,
  screenshotOnFailure,
  treeRow,
  viewPane,
  waitUntil,
} from '../harness/workbench.mjs';

const LABEL = 'Populated Project';
const PASSWORD = 'e2e offsite password 93b1';

let session;
let env;
let pane;
let tmp;
let repo;
before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'trac-backup-e2e-offsite-'));
  repo = path.join(tmp, 'repo');
  session = await openWorkbench({
    fixtures: ['trac-1.6-populated'],
    settings: { 'tracBackup.verifyAfterBackup': false, 'tracBackup.offsite.repository': repo },
    env: { RESTIC_CACHE_DIR: path.join(tmp, 'cache') },
  });
  env = path.join(session.workspace, 'trac-1.6-populated');
  await openViewContainer(session.page, 'Trac');
  pane = viewPane(session.page, 'Environments');
  await treeRow(pane, LABEL).waitFor();
});
after(async () => {
  await session?.close();
  await fs.rm(tmp, { recursive: true, force: true });
});

async function backUp() {
  const { page } = session;
  const before = await backups();
  await runCommand(page, 'Trac: Back Up Environment');
  await waitUntil(async () => (await backups()).length > before.length, 'the backup on disk', 60_000);
  await notification(page, `Backing up ${LABEL}`).waitFor({ state: 'detached', timeout: 60_000 });
}

async function backups() {
  return (await fs.readdir(`${env}-backups`).catch(() => [])).filter((name) => !name.startsWith('.')).sort();
}

async function snapshotFiles() {
  return (await fs.readdir(path.join(repo, 'snapshots')).catch(() => [])).length;
}

const newestBackupRow = () => pane.locator('.monaco-list-row[aria-level="3"]', { hasText: /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/ }).first();

test('Send to Offsite Repository: the password asked once, the repository initialised after a prompt, a second send asks nothing', async () => {
  const { page } = session;
  await screenshotOnFailure(page, 'offsite-send', async () => {
    await backUp();
    await treeRow(pane, LABEL).click();
    await newestBackupRow().waitFor();
    await clickContextMenu(page, newestBackupRow(), 'Send to Offsite Repository');
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor();
    assert.equal(await input.getAttribute('type'), 'password');
    await input.fill(PASSWORD);
    await page.keyboard.press('Enter');
    await clickDialogButton(page, 'Initialise Repository', 'There is no restic repository');
    await waitUntil(async () => (await snapshotFiles()) === 1, 'the first snapshot in the repository', 120_000);
    await screenshot(page, 'offsite-sent');

    await fs.appendFile(path.join(env, 'conf', 'trac.ini'), '\n# changed after the first send\n');
    await backUp();
    // The tree must show the new backup before its row is right-clicked: a row replaced by the
    // refresh meanwhile sends its command no backup (which then asks which one).
    const backupRows = pane.locator('.monaco-list-row[aria-level="3"]', { hasText: /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/ });
    await waitUntil(async () => (await backupRows.count()) === 2, 'the second backup in the tree', 60_000);
    await clickContextMenu(page, newestBackupRow(), 'Send to Offsite Repository');
    await waitUntil(async () => (await snapshotFiles()) === 2, 'the second snapshot in the repository', 120_000);
    assert.equal(await page.locator('.quick-input-widget .quick-input-box input').isVisible(), false, 'the password was asked again');
  });
});

test('the Offsite row lists both snapshots; Restore from Offsite… on the newest restores it through the prompt', async () => {
  const { page } = session;
  await screenshotOnFailure(page, 'offsite-restore', async () => {
    await runCommand(page, 'Notifications: Clear All Notifications');
    const offsite = treeRow(pane, 'Offsite');
    await offsite.click();
    const snapshotRows = pane.locator('.monaco-list-row[aria-level="3"]', { has: page.locator('.codicon-cloud-download') });
    await waitUntil(async () => (await snapshotRows.count()) === 2, 'two snapshot rows under Offsite', 60_000);
    await moveMouseAway(page);
    assert.deepEqual(await cutOffRows(pane), [], 'rows cut off at the default sidebar width');
    await screenshot(page, 'offsite-snapshots');
    await fs.appendFile(path.join(env, 'conf', 'trac.ini'), '\n# changed after the second send\n');
    await clickContextMenu(page, snapshotRows.first(), 'Restore from Offsite…');
    await clickDialogButton(page, 'Restore', LABEL);
    await waitUntil(
      async () => (await fs.readdir(session.workspace)).some((name) => name.startsWith('trac-1.6-populated.before-restore-')),
      'the environment kept aside',
      120_000,
    );
    const config = await waitUntil(
      async () => fs.readFile(path.join(env, 'conf', 'trac.ini'), 'utf8').catch(() => undefined),
      'the restored trac.ini',
    );
    assert.match(config, /changed after the first send/);
    assert.doesNotMatch(config, /changed after the second send/);
    // The restore removes its fetch work folder once the environment is in place: a moment later.
    await waitUntil(
      async () => (await fs.readdir(session.workspace)).every((name) => !(name.startsWith('.') && name.includes('.fetch-'))),
      'the fetch work folder removed after the restore',
      30_000,
    );
    await screenshot(page, 'offsite-restored');
  });
});

test('the password is in no log, no settings file and no tree row', async () => {
  const { page } = session;
  const found = [];
  const walk = async (dir) => {
    for (const entry of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(file);
      else if (entry.isFile() && (await fs.readFile(file, 'utf8').catch(() => '')).includes(PASSWORD)) found.push(file);
    }
  };
  await walk(path.join(session.server.userDataDir, 'logs'));
  await walk(path.join(session.server.userDataDir, 'User'));
  await walk(session.workspace);
  assert.deepEqual(found, []);
  assert.doesNotMatch(await pane.innerText(), new RegExp(PASSWORD));
  assert.doesNotMatch(await page.locator('body').innerText(), new RegExp(PASSWORD));
});

test('after each scheduled backup the new backup is sent, once the password was given', async () => {
  const scheduledRepo = path.join(tmp, 'scheduled-repo');
  const scheduled = await openWorkbench({
    fixtures: ['trac-1.6-populated'],
    settings: { 'tracBackup.schedule': 'hourly', 'tracBackup.offsite.repository': scheduledRepo },
    env: { RESTIC_CACHE_DIR: path.join(tmp, 'cache'), TRAC_BACKUP_SCHEDULE_INTERVAL_MS: '3000' },
  });
  const { page } = scheduled;
  const scheduledEnv = path.join(scheduled.workspace, 'trac-1.6-populated');
  const snapshots = async () => (await fs.readdir(path.join(scheduledRepo, 'snapshots')).catch(() => [])).length;
  try {
    await screenshotOnFailure(page, 'offsite-scheduled', async () => {
      // The first scheduled backup cannot be sent: no password is known yet, and the schedule never asks.
      await notification(page, 'its password is not known yet').first().waitFor({ timeout: 90_000 });
      // The command opens a quick pick of its own at once (runCommand waits for the palette to close).
      await page.keyboard.press('F1');
      await page.locator('.quick-input-widget .quick-input-box input').fill('>Trac: Send to Offsite Repository');
      await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Trac: Send to Offsite Repository' }).first().waitFor();
      await page.keyboard.press('Enter');
      await page.locator('.quick-input-widget input[placeholder="Send which backup of Populated Project?"]').waitFor();
      await page.keyboard.press('Enter'); // the newest backup
      const input = page.locator('.quick-input-widget .quick-input-box input[type="password"]');
      await input.waitFor();
      await input.fill(PASSWORD);
      await page.keyboard.press('Enter');
      await clickDialogButton(page, 'Initialise Repository', 'There is no restic repository');
      await waitUntil(async () => (await snapshots()) === 1, 'the snapshot sent by hand', 120_000);
      await fs.appendFile(path.join(scheduledEnv, 'conf', 'trac.ini'), '\n# changed for the next scheduled backup\n');
      await waitUntil(async () => (await snapshots()) === 2, 'the next scheduled backup sent by itself', 120_000);
      await screenshot(page, 'offsite-scheduled');
    });
  } finally {
    await scheduled.close();
  }
});
