// A backup's life in the tree, as a person lives it: verify it from its row, restore it through
// the prompt (Cancel first, then Restore), delete it through the prompt, and restore the archive
// exported from it, whose progress shows as every short job's: in the view, a notification only
// for a part that lasts a second.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT } from '../harness/paths.mjs';
import { makeTempDir, removeDir } from '../harness/tempDirs.mjs';
import {
  clickContextMenu,
  clickDialogButton,
  cutOffRows,
  dialogText,
  notification,
  openViewContainer,
  openWorkbench,
  runCommand,
  screenshot,
  screenshotOnFailure,
  treeRow,
  treeRows,
  typeInFileDialog,
  viewPane,
  waitUntil,
  rowsDescribed,
  rowsNotDescribed,
} from '../harness/workbench.mjs';

const LABEL = 'Populated Project';
const CLI = path.join(ROOT, 'dist', 'cli.js');

function cli(args) {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  assert.equal(result.status, 0, `trac-backup ${args.join(' ')}: ${result.stderr}`);
}

let session;
let env;
let pane;
before(async () => {
  session = await openWorkbench({ fixtures: ['trac-1.6-populated'], settings: { 'tracBackup.verifyAfterBackup': false } });
  env = path.join(session.workspace, 'trac-1.6-populated');
  const { page } = session;
  await openViewContainer(page, 'Trac');
  pane = viewPane(page, 'Environments');
  await treeRow(pane, LABEL).waitFor();
  await runCommand(page, 'Trac: Back Up Environment');
  const backups = `${env}-backups`;
  await waitUntil(
    async () => (await fs.readdir(backups).catch(() => [])).some((name) => !name.startsWith('.')),
    'the backup on disk',
    60_000,
  );
  await notification(page, `Backing up ${LABEL}`).waitFor({ state: 'detached', timeout: 60_000 });
  await runCommand(page, 'Notifications: Clear All Notifications');
  await treeRow(pane, LABEL).click();
  await treeRows(pane, 3).first().waitFor();
});
after(async () => {
  await session?.close();
});

/** The row of the backup made in before(), not the copy a restore keeps. */
const backupRow = () => rowsNotDescribed(pane, 3, 'kept').first();

test('Verify Backup from the row shows the result on the row', async () => {
  const { page } = session;
  await screenshotOnFailure(page, 'verify-from-tree', async () => {
    assert.equal(await backupRow().locator('.codicon-pass').count(), 0, 'the row shows a pass before any verification');
    await clickContextMenu(page, backupRow(), 'Verify Backup');
    // What settles is the row (its icon); a notification is transient, and a pass raises none.
    await backupRow().locator('.codicon-pass').waitFor({ timeout: 60_000 });
    assert.equal(await notification(page, 'verified').count(), 0, 'a passed verification also raised a notification');
    await screenshot(page, 'verify-from-tree');
    await runCommand(page, 'Notifications: Clear All Notifications');
  });
});

test('Export as Archive… from the row saves a .tar.gz where the save dialog says', async () => {
  const { page } = session;
  await screenshotOnFailure(page, 'export-archive', async () => {
    const rowText = await backupRow().innerText();
    // Proposed in the workspace folder (not the backup folder: an archive is meant to leave the machine).
    await clickContextMenu(page, backupRow(), 'Export as Archive…');
    // code-server's save dialog is VS Code's own: a path box, proposing <backup>.tar.gz.
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor();
    // The box shows the folder first, then fills in the proposed name.
    await page.waitForFunction((box) => box.value.endsWith('.tar.gz'), await input.elementHandle());
    assert.match(await input.inputValue(), /trac-1\.6-populated-\d{8}-\d{6}\.tar\.gz$/);
    await screenshot(page, 'export-archive-dialog');
    await page.keyboard.press('Enter');
    const archives = await waitUntil(
      async () => {
        const found = (await fs.readdir(session.workspace)).filter((name) => name.endsWith('.tar.gz'));
        return found.length ? found : undefined;
      },
      'the archive on disk',
      60_000,
    );
    assert.equal(archives.length, 1, 'no archive in the workspace folder');
    assert.ok((await fs.stat(path.join(session.workspace, archives[0]))).size > 10_000);
    assert.equal(await backupRow().innerText(), rowText, 'the archive changed the backup rows');
    await screenshot(page, 'export-archive-done');
    await runCommand(page, 'Notifications: Clear All Notifications');
  });
});

test('Restore from the row asks first: Cancel changes nothing, Restore swaps the backup in and keeps the old one', async () => {
  const { page } = session;
  await screenshotOnFailure(page, 'restore-prompt', async () => {
    // A change after the backup, which the prompt must mention and the restore must undo.
    const ini = path.join(env, 'conf', 'trac.ini');
    await fs.appendFile(ini, '\n# edited after the backup\n');
    const edited = await fs.readFile(ini, 'utf8');
    // The edit refreshes the tree (300 ms after the file event): a row rebuilt under an open
    // context menu would reach the command as no row at all, as it would for a person.
    await new Promise((resolve) => setTimeout(resolve, 2000));

    await clickContextMenu(page, backupRow(), 'Restore Backup…');
    const text = await dialogText(page, `Restore ${LABEL}`);
    assert.match(text, new RegExp(`Environment: ${env.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.match(text, /This replaces the \d+ files \([\d.]+ [KM]B\) there now/);
    assert.match(text, /kept, not deleted, as .*trac-1\.6-populated\.before-restore-\d{8}-\d{6}/);
    await screenshot(page, 'restore-prompt');
    await clickDialogButton(page, 'Cancel', `Restore ${LABEL}`);
    assert.equal(await fs.readFile(ini, 'utf8'), edited, 'Cancel changed the environment');
    assert.deepEqual(
      (await fs.readdir(session.workspace)).filter((name) => name.includes('before-restore')),
      [],
    );

    await clickContextMenu(page, backupRow(), 'Restore Backup…');
    await clickDialogButton(page, 'Restore', `Restore ${LABEL}`);
    // What settles: the kept copy on disk and the restored file (a notification may hide before it is looked for).
    const kept = await waitUntil(
      async () => {
        const found = (await fs.readdir(session.workspace)).filter((name) => name.startsWith('trac-1.6-populated.before-restore-'));
        return found.length && !/edited after the backup/.test(await fs.readFile(ini, 'utf8').catch(() => 'edited after the backup'))
          ? found
          : undefined;
      },
      'the restore to keep the previous environment and bring the backup back',
      60_000,
    );
    // The progress notification goes once the restore is over: none is left claiming to copy.
    await notification(page, `Restoring ${LABEL}`).waitFor({ state: 'detached', timeout: 10_000 });
    await screenshot(page, 'restore-done');
    assert.equal(kept.length, 1, 'the previous environment was not kept');
    assert.match(await fs.readFile(path.join(session.workspace, kept[0], 'conf', 'trac.ini'), 'utf8'), /edited after the backup/);
    await treeRow(pane, LABEL).waitFor();
    await rowsDescribed(pane, 3, 'kept').waitFor();
    await screenshot(page, 'restore-kept-in-tree');
    // Every kind of row here (environment, database, attachments, total, backups, a backup, the
    // kept copy) reads whole at the default sidebar width.
    assert.deepEqual(await cutOffRows(pane), [], 'rows cut off at the default sidebar width');
    await runCommand(page, 'Notifications: Clear All Notifications');
  });
});

test('Delete Backup asks first, then removes only that backup', async () => {
  const { page } = session;
  await screenshotOnFailure(page, 'delete-prompt', async () => {
    const backups = `${env}-backups`;
    const folders = async () => (await fs.readdir(backups)).filter((entry) => !entry.endsWith('.tar.gz'));
    const [name] = await folders();
    await clickContextMenu(page, backupRow(), 'Delete Backup');
    const text = await dialogText(page, 'Delete the backup');
    assert.match(text, new RegExp(name));
    assert.match(text, /deleted permanently \(not moved to the trash\)/);
    await screenshot(page, 'delete-prompt');
    await clickDialogButton(page, 'Cancel', 'Delete the backup');
    assert.deepEqual(await folders(), [name], 'Cancel deleted something');

    const rowLabel = await backupRow().locator('.label-name').innerText();
    await clickContextMenu(page, backupRow(), 'Delete Backup');
    await clickDialogButton(page, 'Delete', 'Delete the backup');
    await treeRow(pane, rowLabel).waitFor({ state: 'detached' });
    assert.deepEqual(await folders(), [], 'the backup is still there');
    await fs.access(path.join(env, 'VERSION'));
    // The copy the restore kept is another row: it stays.
    await rowsDescribed(pane, 3, 'kept').waitFor();
    await screenshot(page, 'delete-done');
  });
});

test('Restore from Archive… shows a notification only for a part that lasts longer than a second', async () => {
  const { page } = session;
  await screenshotOnFailure(page, 'restore-archive', async () => {
    // An archive whose unpacking and check last more than a second (80 MB that gzip cannot
    // shrink), so that its notification shows: when, is what is checked.
    await fs.writeFile(path.join(env, 'files', 'attachments', 'large.bin'), randomBytes(80 * 1024 * 1024));
    const folder = await makeTempDir('trac-backup-large-archive-');
    try {
      cli(['hotcopy', env, path.join(folder, 'large-backup')]);
      cli(['archive', path.join(folder, 'large-backup'), path.join(folder, 'large-backup.tar.gz')]);
      await restoreFromArchive(path.join(folder, 'large-backup.tar.gz'));
    } finally {
      await removeDir(folder);
    }
  });
});

/** Restore from Archive… on the environment's row, answered Restore: checks when its notifications show. */
async function restoreFromArchive(archive) {
  const { page } = session;
  const keptBefore = (await fs.readdir(session.workspace)).filter((name) => name.includes('.before-restore-'));
  // When each progress notification first shows (looked for every 50 ms while the restore runs).
  const shown = {};
  let watching = true;
  const watch = (async () => {
    while (watching) {
      for (const title of ['Unpacking', 'Restoring']) {
        if (!(title in shown) && (await notification(page, `${title} `).count()) > 0) shown[title] = Date.now();
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();

  await clickContextMenu(page, treeRow(pane, LABEL), 'Restore from Archive…');
  await typeInFileDialog(page, archive);
  const chosenAt = Date.now();
  await page.locator('.quick-input-widget .monaco-button', { hasText: 'Restore from This Archive' }).click();
  await dialogText(page, `Restore ${LABEL}`);
  const confirmedAt = Date.now();
  await clickDialogButton(page, 'Restore', `Restore ${LABEL}`);
  await waitUntil(
    async () => (await fs.readdir(session.workspace)).filter((name) => name.includes('.before-restore-')).length > keptBefore.length,
    'the restore to keep the environment it replaced',
    60_000,
  );
  await notification(page, `Restoring ${LABEL}`).waitFor({ state: 'detached', timeout: 30_000 });
  watching = false;
  await watch;
  console.log(`notifications shown: ${JSON.stringify(shown)}, archive chosen at ${chosenAt}, prompt answered at ${confirmedAt}`);
  // The notification opens a second after its part begins, or never: never at once.
  if (shown.Unpacking !== undefined) {
    assert.ok(
      shown.Unpacking - chosenAt >= 950,
      `"Unpacking" showed ${Math.round(shown.Unpacking - chosenAt)} ms after the archive was chosen`,
    );
  }
  if (shown.Restoring !== undefined) {
    assert.ok(
      shown.Restoring - confirmedAt >= 950,
      `"Restoring" showed ${Math.round(shown.Restoring - confirmedAt)} ms after the prompt was answered`,
    );
  }
  assert.ok(shown.Unpacking !== undefined, 'the unpacking lasted over a second and showed no notification');
  await screenshot(page, 'restore-archive-done');
  await runCommand(page, 'Notifications: Clear All Notifications');
}
