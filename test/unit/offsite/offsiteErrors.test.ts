// What restic's failures become: a repository locked by a live process (who, not stale, and
// waiting for it), one out of reach over SFTP, restic missing. Real restic, real processes.
import * as assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findRestic } from '../../../src/core/offsite/resticProgram';
import { OffsiteLockedError } from '../../../src/core/offsite/resticErrors';
import { checkRepository, initRepository, whileLocked } from '../../../src/core/offsite/repositoryMaintenance';
import { listOffsiteSnapshots } from '../../../src/core/offsite/offsiteSnapshots';
import type { OffsiteRepository } from '../../../src/core/offsite/resticRepository';
import { TracBackupError } from '../../../src/core/shared/errors';
import { makeTempDir, removeTempDir } from '../../support/fixtures';
import { runCliCaptured } from '../../support/cliRun';
import { TEST_PASSWORD, freePort, resticTestEnv, startSftpServer, testRepository } from '../../support/resticRepos';

/**
 * A restic backup reading standard input from a pipe this test holds open: it keeps its lock
 * until the pipe closes. Resolves once its lock file is in the (local) repository.
 */
async function holdLock(location: string, tmp: string): Promise<ChildProcess> {
  const child = spawn('restic', ['backup', '--stdin', '--stdin-filename', 'held'], {
    env: { ...resticTestEnv(tmp), RESTIC_REPOSITORY: location, RESTIC_PASSWORD: TEST_PASSWORD },
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  child.stdin.write('x');
  const deadline = Date.now() + 60_000;
  while ((await fs.readdir(path.join(location, 'locks'))).length === 0) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`restic took no lock (exit ${child.exitCode})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return child;
}

describe('offsite errors, with real restic', () => {
  let tmp: string;
  let repository: OffsiteRepository;
  before(async () => {
    tmp = await makeTempDir();
    repository = testRepository(path.join(tmp, 'repo'), tmp);
    await initRepository(repository);
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it('a repository locked by a live process says who and since when, not stale; waiting goes through once it is done', async () => {
    const holder = await holdLock(repository.location, tmp);
    try {
      await assert.rejects(checkRepository(repository), (error: unknown) => {
        assert.ok(error instanceof OffsiteLockedError, String(error));
        assert.equal(error.holder.pid, holder.pid);
        assert.equal(error.holder.stale, false);
        assert.match(
          error.message,
          new RegExp(
            `locked by restic process ${holder.pid} on \\S+ \\(user \\S+\\) since \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d: wait`,
          ),
        );
        return true;
      });
      const waits: string[] = [];
      let waited!: () => void;
      const firstWait = new Promise<void>((resolve) => (waited = resolve));
      const waiting = whileLocked(() => checkRepository(repository), {
        everyMs: 300,
        onWaiting: (message) => {
          waits.push(message);
          waited();
        },
      });
      await firstWait; // it found the lock and waits: now the holder finishes
      holder.stdin!.end();
      const check = await waiting;
      assert.ok(check.ok);
      assert.ok(waits.length >= 1, 'it waited');
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('trac-backup offsite-check without --wait names the holder; with --wait says it waits once, then checks', async () => {
    const saved = { ...process.env };
    const passwordFile = path.join(tmp, 'password');
    await fs.writeFile(passwordFile, TEST_PASSWORD, { mode: 0o600 });
    Object.assign(process.env, resticTestEnv(tmp), { RESTIC_PASSWORD_FILE: passwordFile });
    const holder = await holdLock(repository.location, tmp);
    try {
      const refused = await runCliCaptured(['offsite-check', repository.location]);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, new RegExp(`locked by restic process ${holder.pid} .*--wait waits for it`));
      const stderr = { text: '' };
      const waiting = runCliCaptured(['offsite-check', repository.location, '--wait'], { onStderr: (text) => (stderr.text += text) });
      while (!stderr.text.includes('waiting for it')) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      holder.stdin!.end();
      const waited = await waiting;
      assert.equal(waited.code, 0, waited.stderr);
      assert.equal(waited.stderr.match(/waiting for it/g)?.length, 1, waited.stderr);
      assert.match(waited.stdout, /no errors were found/);
    } finally {
      holder.kill('SIGKILL');
      for (const name of Object.keys(process.env)) {
        if (!(name in saved)) {
          delete process.env[name];
        }
      }
      Object.assign(process.env, saved);
    }
  });

  it('an SFTP server that does not answer is out of reach, naming the repository', async () => {
    const port = await freePort();
    const sftp = await startSftpServer(path.join(tmp, 'sshd'));
    await sftp.stop(); // its key and options, but nothing listens
    const unreachable: OffsiteRepository = {
      ...repository,
      location: sftp.location(path.join(tmp, 'remote')),
      options: sftp.options.map((option) => option.replace(`-p ${sftp.port}`, `-p ${port}`)),
    };
    await assert.rejects(listOffsiteSnapshots(unreachable), (error: TracBackupError) => {
      assert.equal(error.code, 'OFFSITE_UNREACHABLE', error.message);
      assert.match(error.message, /cannot be reached/);
      assert.ok(error.message.includes(unreachable.location));
      return true;
    });
  });

  it('restic missing: how to install it, per system; a configured path that is not restic, named', async () => {
    await assert.rejects(findRestic(undefined, { PATH: path.join(tmp, 'nothing') }), (error: TracBackupError) => {
      assert.equal(error.code, 'RESTIC_MISSING');
      assert.match(error.message, /apt install restic.*dnf install restic.*brew install restic.*winget install restic/);
      return true;
    });
    await assert.rejects(findRestic('/bin/true'), /\/bin\/true is not a restic that runs/);
  });

  it('credentials in a repository URL are never shown', async () => {
    const withCredentials: OffsiteRepository = { ...repository, location: 'rest:http://alice:s3cret-token@127.0.0.1:1/repo' };
    await assert.rejects(listOffsiteSnapshots(withCredentials), (error: TracBackupError) => {
      assert.doesNotMatch(error.message, /s3cret-token/);
      assert.match(error.message, /rest:http:\/\/\*\*\*@127\.0\.0\.1:1\/repo/);
      return true;
    });
  });
});
