// tracBackup.retention as a person writes it, with the schedule's interval shortened to seconds:
// an invalid value prunes nothing and is said once, in its own words; a prune that fails after a
// good backup says the backup was made and that pruning failed.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { notification, openWorkbench, runCommand, screenshot, screenshotOnFailure, waitUntil } from '../harness/workbench.mjs';

const INTERVAL_MS = 3000;
const sessions = [];
after(async () => {
  await Promise.all(sessions.map((session) => session.close()));
});

async function backupFolders(env) {
  return (await fs.readdir(`${env}-backups`).catch(() => [])).filter((name) => !name.startsWith('.')).sort();
}

/** A change the schedule's next round backs up. */
async function change(env, what) {
  await fs.appendFile(path.join(env, 'conf', 'trac.ini'), `\n# ${what}\n`);
}

/** The line of a notification's text that holds `marker` (the text also holds its source and buttons). */
function lineHolding(text, marker) {
  const line = text.split('\n').find((candidate) => candidate.includes(marker));
  assert.ok(line, `no line holds ${marker} in:\n${text}`);
  return line;
}

/** Every notification of this session (the toasts hide after a while; the list keeps them), holding `text`. */
async function notificationsHolding(page, text) {
  await runCommand(page, 'Notifications: Show Notifications');
  const rows = page.locator('.notifications-center .monaco-list-row', { hasText: text });
  const texts = await rows.allInnerTexts();
  await page.keyboard.press('Escape');
  return texts;
}

test('an invalid tracBackup.retention ("2"): the schedule backs up but never prunes, says so once; Prune Backups… refuses with the same words', async () => {
  const session = await openWorkbench({
    fixtures: ['trac-1.6-populated'],
    settings: { 'tracBackup.schedule': 'hourly', 'tracBackup.retention': { keepLast: '2' }, 'tracBackup.verifyAfterBackup': false },
    env: { TRAC_BACKUP_SCHEDULE_INTERVAL_MS: String(INTERVAL_MS) },
  });
  sessions.push(session);
  const { page } = session;
  const env = path.join(session.workspace, 'trac-1.6-populated');
  await screenshotOnFailure(page, 'retention-invalid', async () => {
    const warning = notification(page, 'tracBackup.retention');
    await warning.first().waitFor({ timeout: 60_000 });
    const said = await warning.first().innerText();
    assert.match(said, /keepLast: "2" is not a whole number from 0 up/);
    assert.match(said, /write it without quotes: keepLast: 2/);
    assert.match(said, /Nothing is pruned by it/);
    assert.match(said, /Open Retention Setting/, 'no button to the setting');
    await screenshot(page, 'retention-invalid');

    // Three backups where keepLast 2 would keep two: nothing is pruned, and nothing said again.
    for (let made = (await backupFolders(env)).length; made < 3; made = (await backupFolders(env)).length) {
      await change(env, `change ${made}`);
      await waitUntil(async () => (await backupFolders(env)).length > made, `scheduled backup ${made + 1}`, 60_000);
    }
    await new Promise((resolve) => setTimeout(resolve, 2 * INTERVAL_MS));
    assert.equal((await backupFolders(env)).length, 3, 'an invalid policy pruned backups');
    const warnings = await notificationsHolding(page, 'tracBackup.retention');
    assert.equal(warnings.length, 1, `the warning was said ${warnings.length} times:\n${warnings.join('\n')}`);

    const before = await backupFolders(env);
    await runCommand(page, 'Trac: Prune Backups…');
    const refusal = notification(page, 'Nothing is pruned by it');
    await waitUntil(async () => (await refusal.count()) > 0, 'Prune Backups… to refuse');
    const refused = await refusal.first().innerText();
    assert.equal(
      lineHolding(refused, 'tracBackup.retention'),
      lineHolding(said, 'tracBackup.retention'),
      'Prune Backups… does not say what the schedule said',
    );
    assert.equal(await page.locator('.monaco-dialog-box').count(), 0, 'Prune Backups… asked to delete by an invalid policy');
    assert.deepEqual(await backupFolders(env), before);
  });
});

test('a prune that fails after a good scheduled backup says the backup was made and pruning failed, never that the backup failed', async () => {
  const session = await openWorkbench({
    fixtures: ['trac-1.6-populated'],
    settings: { 'tracBackup.schedule': 'hourly', 'tracBackup.retention': { keepLast: 1 }, 'tracBackup.verifyAfterBackup': false },
    env: { TRAC_BACKUP_SCHEDULE_INTERVAL_MS: String(INTERVAL_MS) },
  });
  sessions.push(session);
  const { page } = session;
  const env = path.join(session.workspace, 'trac-1.6-populated');
  let stuck;
  try {
    await screenshotOnFailure(page, 'prune-failed', async () => {
      await waitUntil(async () => (await backupFolders(env)).length === 1, 'the first scheduled backup', 60_000);
      // An immutable folder cannot be renamed, even by root: deleting it fails for real.
      [stuck] = await backupFolders(env);
      execFileSync('chattr', ['+i', path.join(`${env}-backups`, stuck)]);
      await change(env, 'after the first backup');
      const made = await waitUntil(
        async () => (await backupFolders(env)).find((name) => name !== stuck),
        'the second scheduled backup',
        60_000,
      );
      const report = notification(page, 'but pruning failed');
      await report.first().waitFor({ timeout: 30_000 });
      const text = await report.first().innerText();
      const escaped = (value) => value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      assert.match(
        lineHolding(text, 'but pruning failed'),
        new RegExp(
          `^Scheduled backup of ${escaped(env)} made \\(${escaped(made)}\\), but pruning failed: could not delete \\S*${escaped(stuck)}: EPERM`,
        ),
      );
      await screenshot(page, 'prune-failed');
      assert.deepEqual(await backupFolders(env), [stuck, made].sort(), 'the backup the prune could not delete, and the new one');
      const wrong = await notificationsHolding(page, /Scheduled backup of \S+ failed/);
      assert.deepEqual(wrong, [], 'a backup that was made is reported as failed');
    });
  } finally {
    if (stuck) {
      execFileSync('chattr', ['-i', path.join(`${env}-backups`, stuck)]);
    }
  }
});
