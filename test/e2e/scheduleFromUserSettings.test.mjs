// Scheduled backups of environments named only in user settings, in a window whose folder holds
// no Trac: the extension must start for them (no trac.ini for workspaceContains to see), back them
// up, and say in the status bar which configured environment it could not back up, and why.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import {
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
import { makeWorkspace, removeDir } from '../harness/tempDirs.mjs';

let session;
let elsewhere;
after(async () => {
  await session?.close();
  await removeDir(elsewhere);
});

test('a schedule with environments only in user settings backs up in a window without Trac, and names what it could not back up', async () => {
  elsewhere = await makeWorkspace(['trac-1.6-populated'], 'trac-backup-elsewhere-');
  const env = path.join(elsewhere, 'trac-1.6-populated');
  const notAnEnvironment = path.join(elsewhere, 'old-project');
  await fs.mkdir(notAnEnvironment);
  await fs.writeFile(path.join(notAnEnvironment, 'README'), 'not a Trac environment\n');
  session = await openWorkbench({
    fixtures: [],
    prepare: (workspace) => fs.writeFile(path.join(workspace, 'notes.md'), '# a folder without Trac\n'),
    settings: { 'tracBackup.environments': [env, notAnEnvironment], 'tracBackup.schedule': 'hourly' },
    env: { TRAC_BACKUP_SCHEDULE_INTERVAL_MS: '4000' },
  });
  const { page } = session;
  await screenshotOnFailure(page, 'schedule-user-settings', async () => {
    const backups = `${env}-backups`;
    await waitUntil(
      async () => (await fs.readdir(backups).catch(() => [])).some((name) => !name.startsWith('.')),
      'a scheduled backup of the environment named in user settings',
      90_000,
    );
    const status = page.locator('.part.statusbar .statusbar-item', { hasText: 'Trac:' }).first();
    await status.waitFor({ timeout: 30_000 });
    await waitUntil(async () => /1 of 2 backed up/.test(await status.innerText()), 'the status bar to say 1 of 2 backed up', 30_000);
    await status.hover();
    const hover = page.locator('.monaco-hover, .workbench-hover').filter({ hasText: 'old-project' }).first();
    await hover.waitFor({ timeout: 10_000 });
    assert.match(await hover.innerText(), /old-project: not backed up: .*not a Trac environment|old-project.*cannot be backed up/is);
    await screenshot(page, 'schedule-user-settings-status-bar');

    // In the tree, the environment that cannot be backed up opens on its Problem row: the reason
    // in a few words that fit, the whole sentence (with its path) a click away.
    await openViewContainer(page, 'Trac');
    const pane = viewPane(page, 'Environments');
    const problem = treeRow(pane, 'Not Trac: no VERSION file');
    await problem.waitFor({ timeout: 30_000 });
    await moveMouseAway(page);
    assert.deepEqual(await cutOffRows(pane), [], 'rows cut off at the default sidebar width');
    await screenshot(page, 'schedule-user-settings-problem-row');
    await runCommand(page, 'Notifications: Clear All Notifications');
    await problem.click();
    await notification(page, `Not a Trac environment: it has no VERSION file`).waitFor({ timeout: 30_000 });
  });
});
