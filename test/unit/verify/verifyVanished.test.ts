// A backup deleted or moved by someone else (another window, the CLI, a person) while verify
// checks it: one problem that says so, not one "missing" per file.
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../../../src/cli/main';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { deleteBackup } from '../../../src/core/catalog/prune';
import { readVerifications } from '../../../src/core/catalog/verificationStore';
import { VerifyPhase, VerifyResult, verifyBackup } from '../../../src/core/verify/verify';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';
import { buildLargeEnvironment } from '../../support/largeEnvironment';

const VANISHED = 'was deleted or moved while it was being checked';

/** Verifies `backup`, doing `act` to it once the check reaches `phase` (in the files phase: after some files). */
async function verifyWhile(backup: string, phase: VerifyPhase, act: () => Promise<unknown>): Promise<VerifyResult> {
  let acting: Promise<unknown> | undefined;
  const result = await verifyBackup(backup, {
    onProgress: (event) => {
      if (!acting && event.phase === phase && (phase !== 'files' || event.filesDone >= 20)) {
        acting = act();
      }
    },
  });
  assert.ok(acting, `the check never reached ${phase}`);
  await acting;
  return result;
}

function assertVanished(result: VerifyResult): void {
  assert.equal(result.ok, false);
  const summary = `${result.problems.length} problems, the first: ${JSON.stringify(result.problems.slice(0, 2))}`;
  assert.equal(result.problems.length, 1, summary);
  assert.deepEqual(result.problems, [{ path: '.', problem: VANISHED }], summary);
  assert.equal(result.vanished, true);
}

describe('verify of a backup deleted or moved while it is checked', () => {
  let tmp: string;
  let env: string;
  let count = 0;
  const freshBackup = async () => (await hotcopy(env, path.join(tmp, 'backups', `b${++count}`))).dest;
  before(async () => {
    tmp = await makeTempDir();
    // Enough files that the check is still comparing them when the backup goes.
    env = (await buildLargeEnvironment(tmp, 'env', { attachmentBytes: 8 * 1024 * 1024, averageBytes: 8 * 1024, tickets: 200 })).path;
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it('deleted as Delete Backup and prune delete (renamed aside, then removed) during the file checks: one problem', async () => {
    const backup = await freshBackup();
    assertVanished(await verifyWhile(backup, 'files', () => deleteBackup(backup)));
    await assert.rejects(fs.lstat(backup), { code: 'ENOENT' });
  });

  it('deleted during the database check: one problem', async () => {
    const backup = await freshBackup();
    assertVanished(await verifyWhile(backup, 'database', () => deleteBackup(backup)));
  });

  it('moved to another name during the file checks: one problem, and the moved backup is untouched', async () => {
    const backup = await freshBackup();
    const moved = `${backup}-moved`;
    assertVanished(await verifyWhile(backup, 'files', () => fs.rename(backup, moved)));
    assert.equal((await verifyBackup(moved)).ok, true);
  });

  it('replaced by another folder under its name during the check: one problem', async () => {
    const backup = await freshBackup();
    const other = await freshBackup();
    const aside = `${backup}-aside`;
    const result = await verifyWhile(backup, 'files', async () => {
      await fs.rename(backup, aside);
      await fs.rename(other, backup);
    });
    assertVanished(result);
  });

  it('deleted in place (rm -rf, as a file manager does) during the file checks: one problem', async () => {
    const backup = await freshBackup();
    assertVanished(await verifyWhile(backup, 'files', () => fs.rm(backup, { recursive: true, force: true })));
  });

  it('trac-backup verify of a backup deleted while it runs: one line that says so, exit 1, nothing recorded', async () => {
    const backup = await freshBackup();
    let stdout = '';
    let stderr = '';
    let deleting: Promise<void> | undefined;
    const code = await runCli(['verify', backup], {
      stdout: { write: (text: string) => (stdout += text), isTTY: false, columns: 100 },
      // A terminal, so that it draws its progress: the delete starts once the files are being checked.
      stderr: {
        write: (text: string) => {
          stderr += text;
          if (!deleting && /files\s+\[/.test(text) && !/ 0\/\d+ files/.test(text)) {
            deleting = deleteBackup(backup);
          }
        },
        isTTY: true,
        columns: 100,
      },
      signal: new AbortController().signal,
    });
    assert.ok(deleting, 'the check never reached its files');
    await deleting;
    assert.equal(code, 1);
    assert.equal(stdout, '', 'no problem list for a backup that is gone');
    const bar = /^\S+\s+\[[#-]+\]/;
    const lines = stderr
      .split('\r\x1b[2K')
      .join('\n')
      .split('\n')
      .filter((line) => line && !bar.test(line));
    assert.deepEqual(lines, [`trac-backup: ${backup} ${VANISHED}: it was not verified. Verify it where it is now, if it was moved.`]);
    assert.ok(!(await readVerifications()).some((record) => record.backup === backup), 'a result was recorded for a backup that is gone');
  });

  it('a backup damaged, not deleted, still lists its problems', async () => {
    const small = await copyFixture('trac-1.6-fresh', 'small', tmp);
    const backup = (await hotcopy(small, path.join(tmp, 'backups', 'small'))).dest;
    const result = await verifyBackup(backup);
    assert.equal(result.ok, true, JSON.stringify(result.problems));
    assert.equal(result.vanished, undefined);
    await fs.chmod(path.join(backup, 'VERSION'), 0o644);
    await fs.rm(path.join(backup, 'VERSION'));
    const damaged = await verifyBackup(backup);
    assert.equal(damaged.vanished, undefined);
    assert.ok(damaged.problems.some((problem) => problem.path === 'VERSION'));
  });
});
