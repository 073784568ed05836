// An environment moved or deleted while it is being backed up: say so, in words, and leave nothing.
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { verifyBackup } from '../../../src/core/verify/verify';
import { HotcopyPhase } from '../../../src/core/backup/backupProgress';
import { isWorkName } from '../../../src/core/work/workFolder';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';
import { buildLargeEnvironment } from '../../support/largeEnvironment';
import { refusal } from '../../support/refusal';

describe('hotcopy of an environment moved or deleted while it runs', () => {
  let tmp: string;
  let template: string;
  let count = 0;
  /** A new copy of a many-file environment, so the copy phase lasts long enough to act in. */
  const freshEnvironment = async () => {
    const env = path.join(tmp, `env${++count}`);
    await fs.cp(template, env, { recursive: true, preserveTimestamps: true });
    return env;
  };
  before(async () => {
    tmp = await makeTempDir();
    template = (await buildLargeEnvironment(tmp, 'template', { attachmentBytes: 6 * 1024 * 1024, averageBytes: 8 * 1024, tickets: 100 }))
      .path;
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  /** Backs up `env`, doing `act` once the backup enters `phase`; returns the backup's promise. */
  async function backUpWhile(env: string, dest: string, phase: HotcopyPhase, act: () => Promise<unknown>) {
    let acting: Promise<unknown> | undefined;
    const run = hotcopy(env, dest, {
      onProgress: (event) => {
        if (!acting && event.phase === phase && (phase !== 'copy' || event.filesDone >= 20)) {
          acting = act();
        }
      },
    });
    const outcome = await run.then(
      () => undefined,
      (error: unknown) => error,
    );
    await acting;
    assert.ok(acting, `the backup never reached ${phase}`);
    return outcome;
  }

  const movedMessage = (env: string) =>
    refusal('SOURCE_UNREADABLE', `${env} was moved or deleted while it was being backed up: nothing was backed up`);

  for (const phase of ['copy', 'catch-up'] as const) {
    it(`moved (renamed) during ${phase}: "was moved or deleted while it was being backed up", no partial backup`, async () => {
      const env = await freshEnvironment();
      const dest = path.join(tmp, 'backups', `moved-${phase}`);
      const error = await backUpWhile(env, dest, phase, () => fs.rename(env, `${env}-moved`));
      assert.ok(error, 'the backup of a moved environment succeeded');
      movedMessage(env)(error);
      assert.ok(!(error as Error).message.includes('ENOENT'), (error as Error).message);
      await assert.rejects(fs.lstat(dest), { code: 'ENOENT' });
      assert.deepEqual((await fs.readdir(path.dirname(dest)).catch(() => [])).filter(isWorkName), []);
    });
  }

  it('deleted (rm -rf) during the copy: the same message', async () => {
    const env = await freshEnvironment();
    const dest = path.join(tmp, 'backups', 'deleted');
    const error = await backUpWhile(env, dest, 'copy', () => fs.rm(env, { recursive: true, force: true }));
    assert.ok(error, 'the backup of a deleted environment succeeded');
    movedMessage(env)(error);
    await assert.rejects(fs.lstat(dest), { code: 'ENOENT' });
  });

  for (const phase of ['catch-up', 'lock', 'snapshot', 'finish'] as const) {
    it(`being deleted in place during ${phase}: the same message, or a backup that passes verify (never one without VERSION)`, async () => {
      const env = await freshEnvironment();
      const dest = path.join(tmp, 'backups', `in-place-${phase}`);
      const error = await backUpWhile(env, dest, phase, () => fs.rm(env, { recursive: true, force: true }));
      if (error) {
        movedMessage(env)(error);
        await assert.rejects(fs.lstat(dest), { code: 'ENOENT' });
      } else {
        const verified = await verifyBackup(dest);
        assert.equal(verified.ok, true, JSON.stringify(verified.problems.slice(0, 3)));
      }
    });
  }

  it('an environment whose VERSION and trac.ini are symbolic links is still one: backed up', async () => {
    const env = await copyFixture('trac-1.6-fresh', 'linked', tmp);
    const shared = path.join(tmp, 'shared-config');
    await fs.mkdir(shared);
    for (const relative of ['VERSION', 'conf/trac.ini']) {
      const target = path.join(shared, path.basename(relative));
      await fs.rename(path.join(env, relative), target);
      await fs.symlink(target, path.join(env, relative));
    }
    const result = await hotcopy(env, path.join(tmp, 'backups', 'linked'));
    assert.ok((await fs.lstat(path.join(result.dest, 'conf', 'trac.ini'))).isSymbolicLink());
  });

  it('an attachment deleted during the copy (Trac at work) is no such error: the backup completes', async () => {
    const env = await copyFixture('trac-1.6-populated', 'live', tmp);
    const log = path.join(env, 'log', 'extra.log');
    await fs.writeFile(log, 'x'.repeat(1000));
    const error = await backUpWhile(env, path.join(tmp, 'backups', 'live'), 'copy', () => fs.rm(log));
    assert.equal(error, undefined, String(error));
  });
});
