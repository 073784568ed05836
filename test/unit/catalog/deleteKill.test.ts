// Deleting a backup killed at random instants (SIGKILL, a real child process): its name holds the
// whole backup or nothing, never a part of it; the next sweep removes the rest.
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { verifyBackup } from '../../../src/core/verify/verify';
import { parseWorkName, sweepDeadWork } from '../../../src/core/work/workFolder';
import { startNode } from '../../support/childProcess';
import { sleep, waitUntil, workIn } from '../../support/cliChild';
import { makeTempDir, removeTempDir } from '../../support/fixtures';
import { buildLargeEnvironment } from '../../support/largeEnvironment';

const ROUNDS = 6;
const CHILD = path.join(__dirname, '..', '..', 'support', 'deleteChild.js');

describe('a delete killed at random instants (kill -9 of a real child running deleteBackup)', () => {
  let tmp: string;
  let env: string;
  let template: string;
  before(async () => {
    tmp = await makeTempDir();
    // Many small files: removing them takes long enough to be killed midway.
    env = (await buildLargeEnvironment(tmp, 'env', { attachmentBytes: 24 * 1024 * 1024, averageBytes: 4 * 1024, tickets: 400 })).path;
    template = (await hotcopy(env, path.join(tmp, 'template', 'b'))).dest;
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  /** A new complete backup in `folder` (linked from the template: made fast, deleted file by file all the same). */
  const newBackup = async (folder: string, name: string) => (await hotcopy(env, path.join(folder, name), { linkDest: template })).dest;

  /** How long a delete takes in the child, from its start to its end. */
  async function timeDelete(folder: string): Promise<number> {
    const backup = await newBackup(folder, 'calibration');
    const child = startNode([CHILD, backup]);
    await child.waitForLine((line) => line === 'deleting');
    const started = performance.now();
    await child.waitForLine((line) => line === 'deleted');
    await child.exited;
    return performance.now() - started;
  }

  it(`leaves the whole backup or nothing under its name (${ROUNDS} rounds), and the next sweep removes what it left`, async () => {
    const folder = path.join(tmp, 'backups');
    const windowMs = await timeDelete(folder);
    let leftSomething = false;
    for (let round = 0; round < ROUNDS || (!leftSomething && round < 2 * ROUNDS); round++) {
      const backup = await newBackup(folder, `b${round}`);
      const child = startNode([CHILD, backup]);
      const pid = child.child.pid;
      await child.waitForLine((line) => line === 'deleting');
      const working = await waitUntil(async () => (await workIn(folder)).some((name) => parseWorkName(name)?.pid === pid), child);
      if (working) {
        await sleep(Math.random() * (round < ROUNDS ? windowMs : 0));
      }
      child.child.kill('SIGKILL');
      await child.exited;

      const there = await fs.lstat(backup).then(
        () => true,
        () => false,
      );
      if (there) {
        const verified = await verifyBackup(backup, { full: false });
        assert.equal(verified.ok, true, `round ${round}: ${backup} holds a part of the backup: ${verified.problems.length} problems`);
      }
      const left = (await workIn(folder)).filter((name) => parseWorkName(name)?.pid === pid);
      leftSomething ||= left.length > 0;
      const swept = await sweepDeadWork(folder, ['backup', 'delete']);
      assert.deepEqual(
        swept.map((item) => [path.basename(item.path), item.action]),
        left.map((name) => [name, 'removed']),
      );
      assert.deepEqual(await workIn(folder), [], `round ${round}: the sweep left work behind`);
      if (there) {
        await fs.rm(backup, { recursive: true, force: true });
      }
    }
    assert.ok(leftSomething, 'no kill left a half-deleted backup: the test proves nothing');
  });
});
