// Offsite copies through a real restic (Debian's 0.14), to a local repository and to one over
// SFTP on 127.0.0.1 (a throwaway sshd with a throwaway key, started and stopped by this file).
import * as assert from 'node:assert/strict';
import { promises as fs, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { loadSqlite } from '../../../src/core/sqlite/sqlite';
import { attachmentRelativePath } from '../../../src/core/trac/attachments';
import { listOffsiteSnapshots } from '../../../src/core/offsite/offsiteSnapshots';
import { OffsiteLockedError } from '../../../src/core/offsite/resticErrors';
import { checkRepository, initRepository, unlockStaleLocks } from '../../../src/core/offsite/repositoryMaintenance';
import type { OffsiteRepository } from '../../../src/core/offsite/resticRepository';
import { sendToOffsite } from '../../../src/core/workflows/sendToOffsite';
import { restoreFromOffsite } from '../../../src/core/workflows/restoreFromOffsite';
import { isCancelled, TracBackupError } from '../../../src/core/shared/errors';
import { makeTempDir, removeTempDir } from '../../support/fixtures';
import { buildLargeEnvironment } from '../../support/largeEnvironment';
import { compareTrees } from '../../support/treeCompare';
import { SftpServer, TEST_PASSWORD, repositoryBytes, resticDirect, startSftpServer, testRepository } from '../../support/resticRepos';

/** A small change, as Trac makes one: a ticket and a 40 KB attachment to it. */
function addTicketWithAttachment(env: string): void {
  const Database = loadSqlite();
  const db = new Database(path.join(env, 'db', 'trac.db'));
  try {
    const id = Number((db.prepare('SELECT max(id) AS id FROM ticket').get() as { id: number }).id) + 1;
    db.prepare(
      "INSERT INTO ticket (id, type, time, changetime, summary, status, reporter) VALUES (?, 'defect', 0, 0, 'offsite', 'new', 'test')",
    ).run(id);
    const file = path.join(env, ...attachmentRelativePath('ticket', String(id), 'note.bin').split('/'));
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, Buffer.alloc(40 * 1024, 7));
    db.prepare("INSERT INTO attachment VALUES ('ticket', ?, 'note.bin', ?, 0, 'offsite', 'test')").run(String(id), 40 * 1024);
  } finally {
    db.close();
  }
}

/** Every process's command line, while `during` runs: none may hold the password. */
async function commandLinesDuring<T>(during: Promise<T>): Promise<{ result: T; seen: string[] }> {
  const seen = new Set<string>();
  let done = false;
  const watch = (async () => {
    while (!done) {
      for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
        try {
          seen.add(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' '));
        } catch {
          // gone meanwhile
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  try {
    return { result: await during, seen: [...seen] };
  } finally {
    done = true;
    await watch;
  }
}

for (const kind of ['local', 'sftp'] as const) {
  describe(`offsite round trip through restic, ${kind} repository`, () => {
    let tmp: string;
    let env: string;
    let repoFolder: string;
    let repository: OffsiteRepository;
    let server: SftpServer | undefined;
    let firstBackup: string;
    let secondBackup: string;

    before(async () => {
      tmp = await makeTempDir();
      env = (await buildLargeEnvironment(tmp, 'env', { attachmentBytes: 12 * 1024 * 1024, averageBytes: 200 * 1024, tickets: 40 })).path;
      repoFolder = path.join(tmp, 'repo');
      if (kind === 'sftp') {
        server = await startSftpServer(path.join(tmp, 'sshd'));
        repository = testRepository(server.location(repoFolder), tmp, { options: server.options });
      } else {
        repository = testRepository(repoFolder, tmp);
      }
      firstBackup = (await hotcopy(env, path.join(tmp, 'backups', 'env-1'))).dest;
    });
    after(async () => {
      await server?.stop();
      await removeTempDir(tmp);
    });

    it('says a repository that is not initialised is not, then initialises it', async () => {
      await assert.rejects(listOffsiteSnapshots(repository), (error: TracBackupError) => {
        assert.equal(error.code, 'OFFSITE_NOT_INITIALISED', error.message);
        assert.match(error.message, /offsite-init/);
        return true;
      });
      await initRepository(repository);
      assert.equal(resticDirect(repository.location, tmp, ['cat', 'config'], repository.options).code, 0);
    });

    it('sends a backup, then a second after a small change that grows the repository by less than 5 % of the backup', async () => {
      const empty = await repositoryBytes(repoFolder);
      const { result: first, seen } = await commandLinesDuring(sendToOffsite(firstBackup, repository));
      assert.ok(
        seen.some((line) => line.includes('restic') && line.includes('backup')),
        'restic was seen running',
      );
      assert.deepEqual(
        seen.filter((line) => line.includes(TEST_PASSWORD)),
        [],
        'the password was on a command line',
      );
      assert.doesNotMatch(JSON.stringify(first), new RegExp(TEST_PASSWORD));
      assert.ok(first.verifiedNow, 'a backup never verified is verified before it is sent');
      const afterFirst = await repositoryBytes(repoFolder);
      addTicketWithAttachment(env);
      secondBackup = (await hotcopy(env, path.join(tmp, 'backups', 'env-2'), { linkDest: firstBackup })).dest;
      const second = await sendToOffsite(secondBackup, repository);
      const afterSecond = await repositoryBytes(repoFolder);
      const growth = afterSecond - afterFirst;
      const ratio = growth / second.bytes;
      console.log(
        `[figure] ${kind}: backup ${second.bytes} B; first send ${first.durationMs} ms, +${afterFirst - empty} B; ` +
          `second send ${second.durationMs} ms, +${growth} B (${(ratio * 100).toFixed(2)} % of the backup)`,
      );
      assert.ok(ratio < 0.05, `the second send grew the repository by ${growth} bytes, ${(ratio * 100).toFixed(1)} % of the backup`);
    });

    it("lists the environment's snapshots, newest first, dated as the backups and with their sizes", async () => {
      const snapshots = await listOffsiteSnapshots(repository, { environment: env });
      assert.equal(snapshots.length, 2);
      const [second, first] = snapshots;
      const manifest = (backup: string) =>
        JSON.parse(readFileSync(path.join(backup, '.trac-backup.json'), 'utf8')) as { createdAt: string; bytes: number };
      assert.equal(Date.parse(second.time) / 1000, Math.floor(Date.parse(manifest(secondBackup).createdAt) / 1000));
      assert.equal(Date.parse(first.time) / 1000, Math.floor(Date.parse(manifest(firstBackup).createdAt) / 1000));
      assert.equal(second.bytes, manifest(secondBackup).bytes);
      assert.equal(second.backupName, 'env-2');
      assert.ok(second.projectName, 'the project name is a tag');
      assert.deepEqual(await listOffsiteSnapshots(repository, { environment: path.join(tmp, 'another-env') }), []);
    });

    it('fetches the latest into a new folder: the environment as it was backed up, and no work folder left', async () => {
      const target = path.join(tmp, 'restored');
      const result = await restoreFromOffsite(repository, 'latest', target);
      assert.equal(result.env, target);
      assert.equal(result.aside, null);
      assert.equal(result.snapshot.backupName, 'env-2');
      assert.deepEqual(await compareTrees(env, target), []);
      assert.deepEqual(
        (await fs.readdir(tmp)).filter((name) => name.startsWith('.')),
        [],
        'a fetch work folder was left',
      );
    });

    it('restores the first snapshot over the environment, asking first and keeping the old one aside', async () => {
      const snapshots = await listOffsiteSnapshots(repository, { environment: env });
      let asked = 0;
      const result = await restoreFromOffsite(repository, snapshots[1].shortId, env, { confirm: () => Promise.resolve(++asked > 0) });
      assert.equal(asked, 1);
      assert.ok(result.aside);
      const attachments = await fs.readdir(path.join(result.aside, 'files', 'attachments', 'ticket'));
      assert.ok((await fs.readdir(path.join(env, 'files', 'attachments', 'ticket'))).length < attachments.length);
      assert.deepEqual(await compareTrees(result.aside, path.join(tmp, 'restored')), []);
    });

    it('a send killed with SIGKILL leaves a repository that passes restic check once its stale lock is removed', async () => {
      let pid = 0;
      const sending = sendToOffsite(secondBackup, repository, {
        onSpawn: (spawned) => (pid = spawned),
        onProgress: (event) => {
          if (event.phase === 'send' && pid && event.bytesDone > 0) {
            process.kill(pid, 'SIGKILL');
          }
        },
      });
      await assert.rejects(sending, (error: TracBackupError) => error.code === 'OFFSITE_FAILED' && /SIGKILL/.test(error.message));
      await assert.rejects(checkRepository(repository), (error: unknown) => {
        assert.ok(error instanceof OffsiteLockedError, String(error));
        assert.equal(error.holder.pid, pid);
        assert.equal(error.holder.stale, true);
        assert.match(error.message, /stale/);
        return true;
      });
      await unlockStaleLocks(repository);
      const check = await checkRepository(repository);
      assert.ok(check.ok, check.report.join('\n'));
      assert.equal((await listOffsiteSnapshots(repository, { environment: env })).length, 2, 'no snapshot of the killed send');
    });

    it('a cancelled send stops restic, leaves no lock and no snapshot, and the repository passes restic check', async () => {
      const controller = new AbortController();
      const sending = sendToOffsite(secondBackup, repository, {
        signal: controller.signal,
        onProgress: (event) => event.phase === 'send' && controller.abort(),
      });
      await assert.rejects(sending, (error: unknown) => isCancelled(error));
      assert.ok((await checkRepository(repository)).ok);
      assert.equal((await listOffsiteSnapshots(repository, { environment: env })).length, 2);
    });

    it('says a wrong password is wrong, without it', async () => {
      await assert.rejects(listOffsiteSnapshots({ ...repository, password: 'not the password' }), (error: TracBackupError) => {
        assert.equal(error.code, 'OFFSITE_WRONG_PASSWORD');
        assert.doesNotMatch(error.message, /not the password/);
        return true;
      });
    });
  });
}
