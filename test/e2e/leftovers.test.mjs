// Inside VS Code, work stopped midway never costs a backup (issue 10): what killed runs left is
// swept when the extension starts, and said in the log; a backup this window verifies or exports
// is not deleted from under it; one another process deletes meanwhile is said so in one line; a
// Delete whose extension host is killed midway leaves the whole backup or nothing under its name.
// The backups are on a file system of their own (a tmpfs), as on a machine whose backups go to
// another disk than VS Code's temp folder: there a delete cannot be a rename into that folder.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs, lstatSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT } from '../harness/paths.mjs';
import { makeTempDir, removeDir } from '../harness/tempDirs.mjs';
import {
  clickContextMenu,
  clickDialogButton,
  clickNotificationButton,
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
  waitForNotificationGone,
  waitUntil,
} from '../harness/workbench.mjs';

const LABEL = 'Populated Project';
const CLI = path.join(ROOT, 'dist', 'cli.js');
const NAME = 'trac-1.6-populated';
const OLDER = `${NAME}-20240101-000000`;
const NEWER = `${NAME}-20240102-000000`;
const STOPPED = `${NAME}-20240103-000000`;
/** Many small files (a delete takes a while; a check opens each) and some large ones (an export takes a while). */
const FOLDERS = 40;
const FILES_PER_FOLDER = 1000;
const LARGE_FILES = 3;
const LARGE_BYTES = 40 * 1024 * 1024;
const WORK_NAME = /^\.(.+)\.(backup|delete|restore|unpack|archive)-(\d+)-([0-9a-f]{8})$/;

let session;
let env;
let backups;
let mounted = false;
/** A folder outside the workspace for the small backup the killed restore reads. */
let aside;
/** The backups' fingerprints before VS Code starts: name → fingerprint(). */
const untouched = new Map();
/** What the runs killed before VS Code started left: path → { pid, bytes, words }. */
const left = new Map();

function cli(args) {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  assert.equal(result.status, 0, `trac-backup ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

/** The bytes of the files under `file` (or its own size): what the sweep reports. */
function sizeOf(file) {
  let stats;
  try {
    stats = lstatSync(file);
  } catch {
    return 0;
  }
  if (!stats.isDirectory()) return stats.size;
  return readdirSync(file).reduce((sum, name) => sum + sizeOf(path.join(file, name)), 0);
}

/** Starts `trac-backup <args>`, kills it with SIGKILL once its work in `folder` holds some bytes; returns that work's path. */
async function killMidway(args, folder, words) {
  for (let attempt = 0; attempt < 3; attempt++) {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    let ended = false;
    void exited.then(() => (ended = true));
    const mine = () => readdirSync(folder).find((name) => WORK_NAME.exec(name)?.[3] === String(child.pid));
    const deadline = Date.now() + 60_000;
    while (!ended && Date.now() < deadline && !(mine() && sizeOf(path.join(folder, mine())) > 0)) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    child.kill('SIGKILL');
    await exited;
    const name = mine();
    if (name) {
      const file = path.join(folder, name);
      left.set(file, { pid: child.pid, bytes: sizeOf(file), words });
      return;
    }
  }
  assert.fail(`trac-backup ${args.join(' ')} ended each time before it could be killed`);
}

const extraFolder = (environment) => path.join(environment, 'files', 'attachments', 'ticket', 'e2e');

/** The environment's 3 large extra files (an export, a verify, a restore's copy take a while). */
async function addLargeFiles(environment) {
  await fs.mkdir(extraFolder(environment), { recursive: true });
  for (let index = 0; index < LARGE_FILES; index++) {
    await fs.writeFile(path.join(extraFolder(environment), `large-${index}.bin`), randomBytes(LARGE_BYTES));
  }
}

/** The environment's 40,000 small extra files in 40 folders (a delete takes a while; a check opens each). */
async function addSmallFiles(environment) {
  const extra = extraFolder(environment);
  const block = randomBytes(4000);
  for (let folder = 0; folder < FOLDERS; folder++) {
    const dir = path.join(extra, `d${folder}`);
    await fs.mkdir(dir, { recursive: true });
    await Promise.all(
      Array.from({ length: FILES_PER_FOLDER }, (_, index) =>
        fs.writeFile(
          path.join(dir, `f${index}.bin`),
          Buffer.concat([block, Buffer.from(String(folder * FILES_PER_FOLDER + index).padStart(96))]),
        ),
      ),
    );
  }
}

/**
 * Every entry under `dir` with its type, size, inode, mtime and ctime: any entry removed, added,
 * replaced, written or given other metadata changes it (ctime moves with any change). A look at
 * 80,000 entries costs a second; verifying a backup of 40,000 files took most of the file's 180 s
 * on a loaded machine.
 */
function fingerprint(dir) {
  const lines = [];
  const visit = (folder) => {
    for (const name of readdirSync(folder).sort()) {
      const file = path.join(folder, name);
      const stats = lstatSync(file);
      lines.push(
        `${path.relative(dir, file)} ${stats.isDirectory() ? 'd' : stats.isFile() ? 'f' : 'l'} ${stats.size} ${stats.ino} ${stats.mtimeMs} ${stats.ctimeMs}`,
      );
      if (stats.isDirectory()) visit(file);
    }
  };
  visit(dir);
  return lines;
}

/** The files left in a backup's extra folders (a delete in place lowers it). */
function extraFilesIn(backup) {
  let count = 0;
  for (let folder = 0; folder < FOLDERS; folder++) {
    try {
      count += readdirSync(path.join(backup, 'files', 'attachments', 'ticket', 'e2e', `d${folder}`)).length;
    } catch {
      // gone
    }
  }
  return count;
}

/** Everything the extension wrote to its log, in every extension host this session ran. */
function extensionLog() {
  const logs = path.join(session.server.userDataDir, 'logs');
  const found = [];
  const visit = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) visit(file);
      else if (entry.name === 'Trac Backup.log') found.push(readFileSync(file, 'utf8'));
    }
  };
  visit(logs);
  return found.join('\n');
}

/** The extension host processes of this session's code-server (found by the state folder it gave them). */
function extensionHosts() {
  const state = `TRAC_BACKUP_STATE_DIR=${path.join(path.dirname(session.server.userDataDir), 'state')}`;
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return (
          readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--type=extensionHost') &&
          readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(state)
        );
      } catch {
        return false;
      }
    })
    .map(Number);
}

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

before(async () => {
  session = await openWorkbench({
    fixtures: [NAME],
    settings: { 'tracBackup.verifyAfterBackup': false, 'tracBackup.incremental': false, 'tracBackup.retention': { keepLast: 1 } },
    prepare: async (workspace) => {
      env = path.join(workspace, NAME);
      backups = `${env}-backups`;
      await fs.mkdir(backups);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3g', 'tmpfs', backups]);
      mounted = true;
      await addLargeFiles(env);
      // A backup without the 40,000 small files, outside the backup folder, for the restore killed
      // midway: its check before the copy hashes 120 MB, not 40,000 files as well.
      aside = await makeTempDir('trac-backup-leftovers-aside-');
      cli(['hotcopy', env, path.join(aside, OLDER)]);
      await addSmallFiles(env);
      cli(['hotcopy', env, path.join(backups, OLDER)]);
      cli(['hotcopy', env, path.join(backups, NEWER)]);
      // Runs stopped midway, as a reload or a crash stops them: a backup, an export, a restore.
      await killMidway(['hotcopy', env, path.join(backups, STOPPED)], backups, `a partial backup ${STOPPED}`);
      await killMidway(
        ['archive', path.join(backups, OLDER), path.join(backups, `${OLDER}.tar.gz`)],
        backups,
        `a partial archive ${OLDER}.tar.gz`,
      );
      await killMidway(['restore', path.join(aside, OLDER), env, '--yes'], workspace, `a partial copy of ${NAME}`);
      for (const name of [OLDER, NEWER]) untouched.set(name, fingerprint(path.join(backups, name)));
    },
  });
  const { page } = session;
  await openViewContainer(page, 'Trac');
  await treeRow(viewPane(page, 'Environments'), LABEL).waitFor();
});
after(async () => {
  if (mounted) {
    spawnSync('umount', ['-l', backups]); // lazily: code-server may still watch it
  }
  await session?.close();
  if (aside) await removeDir(aside);
});

const pane = () => viewPane(session.page, 'Environments');
const olderRow = () =>
  pane()
    .locator('.monaco-list-row[aria-level="3"]', { hasText: /KB|MB|GB/ })
    .last();
const newerRow = () =>
  pane()
    .locator('.monaco-list-row[aria-level="3"]', { hasText: /KB|MB|GB/ })
    .first();

async function showBackupRows() {
  const rows = treeRows(pane(), 3);
  if ((await rows.count()) === 0) {
    await treeRow(pane(), LABEL).click();
  }
  await rows.first().waitFor();
}

test('what runs stopped midway left is swept when the extension starts, and the log says what each was and how big', async () => {
  const { page } = session;
  await screenshotOnFailure(page, 'leftovers-swept', async () => {
    assert.equal(left.size, 3);
    await waitUntil(
      async () => {
        for (const file of left.keys()) {
          if (
            await fs.lstat(file).then(
              () => true,
              () => false,
            )
          )
            return false;
        }
        return true;
      },
      'the leftovers to be removed',
      30_000,
    );
    const log = await waitUntil(
      () => {
        const text = extensionLog();
        return [...left.keys()].every((file) => text.includes(`Removed ${file}, `)) && text;
      },
      'the log lines of the sweep',
      15_000,
    );
    for (const [file, { pid, bytes, words }] of left) {
      const line = log.split('\n').find((candidate) => candidate.includes(`Removed ${file}, `));
      assert.match(line, /\[info\]/);
      const said = new RegExp(`${escape(`Removed ${file}, ${words}`)} \\(([\\d.]+) (B|KB|MB|GB)\\) .*\\(process ${pid}\\)\\.$`).exec(line);
      assert.ok(said, `the log line does not say what it was and how big: ${line}`);
      const reported = Number(said[1]) * { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[said[2]];
      assert.ok(Math.abs(reported - bytes) <= Math.max(0.06 * bytes, 1), `${line}: ${bytes} bytes were there`);
    }
    // The backups themselves are untouched (every entry as it was before VS Code started) and listed.
    await showBackupRows();
    assert.equal(await treeRows(pane(), 3).count(), 2);
    for (const [name, before] of untouched) {
      const now = fingerprint(path.join(backups, name));
      assert.ok(now.length > FOLDERS * FILES_PER_FOLDER, `${name} holds ${now.length} entries`);
      assert.deepEqual(now, before, `the sweep changed ${name}`);
    }
    await screenshot(page, 'leftovers-swept');
  });
});

test('Delete and Prune leave alone a backup this window is verifying, and say why', async () => {
  const { page } = session;
  await screenshotOnFailure(page, 'delete-while-verifying', async () => {
    await showBackupRows();
    await clickContextMenu(page, olderRow(), 'Verify Backup');
    const verifying = notification(page, `Verifying ${OLDER}`);
    await verifying.waitFor();

    await clickContextMenu(page, olderRow(), 'Delete Backup');
    const refused = notification(page, `The backup ${OLDER} is being verified: wait for it or cancel it, then delete.`);
    await refused.waitFor();
    assert.equal(await page.locator('.monaco-dialog-box').count(), 0, 'the delete prompt was shown for a backup being verified');
    await fs.access(path.join(backups, OLDER, 'VERSION'));
    await screenshot(page, 'delete-while-verifying');

    // keepLast 1 would remove the older backup: it is in use, so nothing goes.
    await clickContextMenu(page, treeRow(pane(), LABEL), 'Prune Backups…');
    await notification(page, 'Nothing to prune now').waitFor();
    assert.equal(await page.locator('.monaco-dialog-box').count(), 0, 'the prune prompt offered to delete a backup being verified');
    assert.ok(await verifying.isVisible(), 'the check ended before the test was done: it proves nothing');
    await fs.access(path.join(backups, OLDER, 'VERSION'));

    await clickNotificationButton(page, `Verifying ${OLDER}`, 'Cancel');
    await waitForNotificationGone(page, `Verifying ${OLDER}`);
    await runCommand(page, 'Notifications: Clear All Notifications');
  });
});

test('a backup another process deletes while this window verifies and exports it: one line each that says so', async () => {
  const { page } = session;
  await screenshotOnFailure(page, 'deleted-while-checked', async () => {
    await showBackupRows();
    await clickContextMenu(page, olderRow(), 'Verify Backup');
    await notification(page, `Verifying ${OLDER}`).waitFor();
    await clickContextMenu(page, olderRow(), 'Export as Archive…');
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor();
    await page.waitForFunction((box) => box.value.endsWith('.tar.gz'), await input.elementHandle());
    await page.keyboard.press('Enter');
    // The save dialog proposes the workspace folder (never the backup folder): the archive is built there.
    const exportFolder = session.workspace;
    await waitUntil(() => readdirSync(exportFolder).some((name) => WORK_NAME.exec(name)?.[2] === 'archive'), 'the export to start', 30_000);
    assert.ok(await notification(page, `Verifying ${OLDER}`).isVisible(), 'the check ended before the delete: it proves nothing');

    // Another process (here the CLI's prune, keeping the newest) deletes the backup meanwhile.
    const pruned = JSON.parse(cli(['prune', backups, '--keep-last', '1', '--json']));
    assert.deepEqual(pruned.removed, [path.join(backups, OLDER)]);

    await notification(page, `Backup ${OLDER} was deleted or moved while it was being checked: it was not verified.`).waitFor({
      timeout: 60_000,
    });
    await notification(page, 'changed while it was being archived').waitFor({ timeout: 60_000 });
    assert.equal(await notification(page, 'failed verification').count(), 0, 'the check reported problems for a backup that is gone');
    await screenshot(page, 'deleted-while-checked');
    assert.doesNotMatch(extensionLog(), /Verification of .* failed/);
    await waitUntil(
      () => ![backups, exportFolder].some((folder) => readdirSync(folder).some((name) => WORK_NAME.test(name))),
      'the partial archive and the deleted backup to go',
      30_000,
    );
    await runCommand(page, 'Notifications: Clear All Notifications');
  });
});

test('a Delete whose extension host is killed midway leaves the whole backup or nothing under its name; the next start removes the rest and says so', async () => {
  const { page } = session;
  await screenshotOnFailure(page, 'delete-killed', async () => {
    await showBackupRows();
    const backup = path.join(backups, NEWER); // the newest: the first row
    const files = extraFilesIn(backup);
    assert.equal(files, FOLDERS * FILES_PER_FOLDER);
    const [host] = extensionHosts();
    assert.ok(host, 'the extension host process was not found');

    await clickContextMenu(page, newerRow(), 'Delete Backup');
    const text = await dialogText(page, 'Delete the backup');
    assert.match(text, /deleted permanently \(not moved to the trash\)/);
    // Watched from before the click: kill the extension host as soon as the delete has begun.
    const begun = waitUntil(
      () => readdirSync(backups).some((name) => WORK_NAME.exec(name)?.[2] === 'delete') || extraFilesIn(backup) < files,
      'the delete to begin',
      30_000,
    );
    await clickDialogButton(page, 'Delete', 'Delete the backup');
    await begun;
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 100));
    process.kill(host, 'SIGKILL');
    await waitUntil(() => !extensionHosts().includes(host), 'the extension host to die', 10_000);

    if (
      await fs.lstat(backup).then(
        () => true,
        () => false,
      )
    ) {
      const verified = spawnSync(process.execPath, [CLI, 'verify', backup], { encoding: 'utf8' });
      assert.equal(verified.status, 0, `${backup} holds part of a backup: ${verified.stderr.trim()}`);
    }
    const rest = readdirSync(backups).filter((name) => WORK_NAME.exec(name)?.[2] === 'delete');
    assert.equal(rest.length, 1, 'the delete finished before the kill: the test proves nothing');
    await screenshot(page, 'delete-killed');

    // A reload starts a new extension host: it removes the rest and says so.
    await page.reload();
    await page.locator('.monaco-workbench .part.activitybar').waitFor();
    const leftover = path.join(backups, rest[0]);
    await waitUntil(
      async () =>
        !(await fs.lstat(leftover).then(
          () => true,
          () => false,
        )),
      'the half-deleted backup to be removed',
      60_000,
    );
    const line = await waitUntil(
      () =>
        extensionLog()
          .split('\n')
          .find((candidate) => candidate.includes(`Removed ${leftover}, the rest of the backup ${NEWER} (`)),
      'the log line of its removal',
      15_000,
    );
    assert.match(line, new RegExp(`whose deletion was stopped \\(process ${host}\\)\\.$`));
  });
});
