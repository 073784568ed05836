// A tracBackup.backupFolder that names a file (or a path through one): Back Up says which setting
// is wrong and what to do, not "ENOTDIR: not a directory, lstat …".
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import {
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
const FILE = 'not-a-folder.txt';

let session;
let file;
before(async () => {
  session = await openWorkbench({
    fixtures: ['trac-1.6-populated'],
    // Relative: taken from the workspace folder.
    settings: { 'tracBackup.backupFolder': FILE },
    prepare: async (workspace) => {
      file = path.join(workspace, FILE);
      await fs.writeFile(file, 'a note, not a folder\n');
    },
  });
  await openViewContainer(session.page, 'Trac');
  await treeRow(viewPane(session.page, 'Environments'), LABEL).waitFor();
});
after(async () => {
  await session?.close();
});

test('Back Up with tracBackup.backupFolder naming a file says so, names the setting, and writes nothing', async () => {
  const { page } = session;
  await screenshotOnFailure(page, 'backup-folder-is-a-file', async () => {
    await runCommand(page, 'Trac: Back Up Environment');
    const error = notification(page, 'The tracBackup.backupFolder setting names');
    await error.waitFor({ timeout: 60_000 });
    const text = await error.innerText();
    assert.ok(text.includes(`names ${file}, which is a file, not a folder: set it to a folder`), text);
    assert.doesNotMatch(text, /ENOTDIR|lstat/);
    await screenshot(page, 'backup-folder-is-a-file');
    assert.equal(await fs.readFile(file, 'utf8'), 'a note, not a folder\n');
    await runCommand(page, 'Notifications: Clear All Notifications');
  });
});

test('Back Up with tracBackup.backupFolder inside a file says which part of the path is the file', async () => {
  const { page } = session;
  await screenshotOnFailure(page, 'backup-folder-inside-a-file', async () => {
    const settingsFile = path.join(session.workspace, '.vscode', 'settings.json');
    await fs.mkdir(path.dirname(settingsFile), { recursive: true });
    await fs.writeFile(settingsFile, JSON.stringify({ 'tracBackup.backupFolder': `${FILE}/backups` }));
    const inside = path.join(file, 'backups');
    // The workspace setting reaches the extension a moment later: back up until the message names it.
    const text = await waitUntil(
      async () => {
        await runCommand(page, 'Trac: Back Up Environment');
        const error = notification(page, `The tracBackup.backupFolder setting names ${inside}`);
        const shown = await error.waitFor({ timeout: 5000 }).then(
          () => true,
          () => false,
        );
        return shown && (await error.innerText());
      },
      'the message about the new setting',
      60_000,
    );
    assert.ok(text.includes(`names ${inside}, but ${file} on that path is a file, not a folder`), text);
    assert.doesNotMatch(text, /ENOTDIR|lstat/);
  });
});
