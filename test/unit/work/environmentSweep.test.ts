// What the extension sweeps when it starts (a window reloaded, an extension host killed): the work
// killed runs left around each environment, each reported with what it was and how big.
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exportArchive } from '../../../src/core/archive/exportArchive';
import { SweptLeftover, sweepEnvironmentLeftovers } from '../../../src/core/work/environmentSweep';
import { measureTree } from '../../../src/core/fs/fileTree';
import { formatBytes } from '../../../src/core/shared/format';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { journalPath } from '../../../src/core/work/restoreJournal';
import { parseWorkName } from '../../../src/core/work/workFolder';
import { StartedChild, startNode } from '../../support/childProcess';
import { buildCli, sleep, startCli, waitUntil, workIn } from '../../support/cliChild';
import { makeTempDir, removeTempDir } from '../../support/fixtures';
import { buildLargeEnvironment } from '../../support/largeEnvironment';
import { fingerprintTree } from '../../support/treeCompare';

const MB = 1024 * 1024;
const DELETE_CHILD = path.join(__dirname, '..', '..', 'support', 'deleteChild.js');

/** Its size as the sweep measures it: the bytes of its files (a file's own size). */
async function sizeOf(file: string): Promise<number> {
  const stats = await fs.lstat(file);
  return stats.isDirectory() ? (await measureTree(file)).bytes : stats.size;
}

/**
 * Starts `start()`, waits until its own work (named with its id) is in `folder` and holds some
 * bytes, then kills it with SIGKILL. Returns the path of what it left.
 */
async function killMidway(start: () => StartedChild, folder: string): Promise<string> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const child = start();
    const pid = child.child.pid;
    const mine = async () => (await workIn(folder)).find((name) => parseWorkName(name)?.pid === pid);
    await waitUntil(async () => {
      const name = await mine();
      return name !== undefined && (await sizeOf(path.join(folder, name)).catch(() => 0)) > 0;
    }, child);
    await sleep(attempt * 20);
    child.child.kill('SIGKILL');
    await child.exited;
    const left = await mine();
    if (left) {
      return path.join(folder, left);
    }
  }
  assert.fail(`no kill left work in ${folder}: each run ended first`);
}

describe('sweepEnvironmentLeftovers: what killed runs left around an environment', () => {
  let tmp: string;
  let env: string;
  let backups: string;
  let backup: string;
  let archive: string;
  before(async () => {
    buildCli();
    tmp = await makeTempDir();
    env = (await buildLargeEnvironment(tmp, 'env', { attachmentBytes: 30 * MB, averageBytes: 16 * 1024, tickets: 300 })).path;
    backups = path.join(tmp, 'env-backups');
    backup = (await hotcopy(env, path.join(backups, 'env-20240101-000000'))).dest;
    archive = (await exportArchive(backup, path.join(tmp, 'elsewhere', 'env.tar.gz'))).archive;
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it('removes partial backups, half-deleted backups, partial archives, partial restore copies and unpacked archives, each said with its size and process', async () => {
    // Made first: a backup sweeps its folder as it starts, and would take what the kills leave.
    const doomed: string[] = [];
    for (let index = 1; index <= 3; index++) {
      doomed.push((await hotcopy(env, path.join(backups, `env-20240104-00000${index}`), { linkDest: backup })).dest);
    }
    const left = {
      backup: await killMidway(() => startCli(['hotcopy', env, path.join(backups, 'env-20240102-000000')]), backups),
      archive: await killMidway(() => startCli(['archive', backup, path.join(backups, 'env-20240101-000000.tar.gz')]), backups),
      unpack: await killMidway(() => startCli(['restore', archive, env, '--yes']), tmp),
      restore: await killMidway(() => startCli(['restore', backup, env, '--yes']), tmp),
      delete: await killMidway(() => startNode([DELETE_CHILD, doomed.shift()!]), backups),
    };
    const sizes = Object.fromEntries(
      await Promise.all(Object.entries(left).map(async ([key, file]): Promise<[string, number]> => [key, await sizeOf(file)])),
    );
    const environmentBefore = await fingerprintTree(env);

    const swept = await sweepEnvironmentLeftovers({ environment: env, backupFolder: backups });

    const byPath = new Map<string, SweptLeftover>(swept.map((item) => [item.path, item]));
    assert.deepEqual([...byPath.keys()].sort(), Object.values(left).sort(), JSON.stringify(swept, null, 2));
    const words: Record<keyof typeof left, RegExp> = {
      backup: /a partial backup env-20240102-000000 \(([\d.]+ [KMG]?B)\) left by a backup that was stopped/,
      archive: /a partial archive env-20240101-000000\.tar\.gz \(([\d.]+ [KMG]?B)\) left by an export that was stopped/,
      delete: /the rest of the backup env-20240104-00000\d \(([\d.]+ [KMG]?B)\), whose deletion was stopped/,
      restore: /a partial copy of env \(([\d.]+ [KMG]?B)\) left by a restore that was stopped/,
      unpack: /an unpacked copy of env \(([\d.]+ [KMG]?B)\) left by a restore that was stopped/,
    };
    for (const [key, file] of Object.entries(left) as Array<[keyof typeof left, string]>) {
      const item = byPath.get(file)!;
      assert.equal(item.action, 'removed', item.message);
      assert.equal(item.bytes, sizes[key], `${key}: the size reported is the size it had`);
      assert.ok(item.message.startsWith(`Removed ${file}, `), item.message);
      assert.equal(words[key].exec(item.message)?.[1], formatBytes(sizes[key]), item.message);
      assert.ok(item.message.includes(`(process ${parseWorkName(path.basename(file))!.pid})`), item.message);
      await assert.rejects(fs.lstat(file), { code: 'ENOENT' }, `${file} is still there`);
    }
    assert.deepEqual(await fingerprintTree(env), environmentBefore, 'the environment was changed');
    assert.deepEqual(await sweepEnvironmentLeftovers({ environment: env, backupFolder: backups }), [], 'a second sweep found more');
  });

  it('leaves the work of a run that is alive (stopped with SIGSTOP) alone', async () => {
    const running = startCli(['hotcopy', env, path.join(backups, 'env-20240103-000000')]);
    try {
      const started = await waitUntil(
        async () => (await workIn(backups)).some((name) => parseWorkName(name)?.pid === running.child.pid),
        running,
      );
      assert.ok(started, 'the backup did not start');
      running.child.kill('SIGSTOP');
      const theirs = await workIn(backups);
      assert.deepEqual(await sweepEnvironmentLeftovers({ environment: env, backupFolder: backups }), []);
      assert.deepEqual(await workIn(backups), theirs);
    } finally {
      running.child.kill('SIGCONT');
    }
    assert.equal((await running.exited).code, 0, running.stderr());
  });

  it("reports a restore stopped while swapping folders without finishing it: that is the next restore's to do", async () => {
    const parent = path.join(tmp, 'swap');
    const target = path.join(parent, 'env');
    await fs.mkdir(parent);
    await fs.cp(backup, target, { recursive: true });
    const dead = startNode(['-e', '']);
    await dead.exited;
    const pid = dead.child.pid!;
    const temp = path.join(parent, `.env.restore-${pid}-0123abcd`);
    await fs.cp(backup, temp, { recursive: true });
    const aside = `${target}.before-restore-20240101-000000`;
    await fs.rename(target, aside);
    const journal = journalPath(target);
    await fs.writeFile(
      journal,
      JSON.stringify({
        format: 1,
        pid,
        host: os.hostname(),
        startedAt: new Date().toISOString(),
        environment: target,
        backup,
        pairs: [{ live: target, temp, aside }],
      }),
    );

    const swept = await sweepEnvironmentLeftovers({ environment: target, backupFolder: backups });

    assert.deepEqual(
      swept.map((item) => [item.path, item.action]),
      [[journal, 'left']],
    );
    assert.match(swept[0].message, new RegExp(`was stopped while swapping folders.*restore .*again to finish it`));
    assert.deepEqual(
      (await fs.readdir(parent)).sort(),
      ['.env.restore-journal.json', path.basename(temp), path.basename(aside)].sort(),
      'the sweep changed the interrupted swap',
    );
  });
});
