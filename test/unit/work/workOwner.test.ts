import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { processStartMsFromPs } from '../../../src/core/trac/processScan';
import { UNKNOWN_START_STALE_MS, machineClock, workOwnerRunning } from '../../../src/core/work/workOwner';
import { StartedChild, startNode } from '../../support/childProcess';
import { makeTempDir, removeTempDir } from '../../support/fixtures';

const HOUR = 60 * 60 * 1000;

describe('is the process a work folder names still at work on it (reused ids)', () => {
  let tmp: string;
  let child: StartedChild;
  let childStartedMs: number;
  before(async () => {
    tmp = await makeTempDir();
    childStartedMs = Date.now();
    child = startNode(['-e', 'console.log("up"); setInterval(() => {}, 1000)']);
    await child.waitForLine((line) => line === 'up');
  });
  after(async () => {
    child.child.kill('SIGKILL');
    await child.exited;
    await removeTempDir(tmp);
  });

  it('with a /proc (a stubbed root): a live id started after the folder was made is another process', async () => {
    const pid = child.child.pid!;
    const proc = path.join(tmp, 'proc');
    await fs.mkdir(path.join(proc, String(pid)), { recursive: true });
    const bootSeconds = 1_700_000_000;
    await fs.writeFile(path.join(proc, 'stat'), `cpu  1 2 3\nbtime ${bootSeconds}\n`);
    // Field 22 of /proc/<pid>/stat: the start, in clock ticks (100 a second) after boot; here 1 hour after it.
    const fields = ['S', '1', ...Array<string>(17).fill('0'), String(3600 * 100), '0'];
    await fs.writeFile(path.join(proc, String(pid), 'stat'), `${pid} (node (worker)) ${fields.join(' ')}\n`);
    const clock = machineClock(proc, 'linux');
    const started = bootSeconds * 1000 + HOUR;
    assert.equal(clock.startMs(pid), started);
    assert.equal(workOwnerRunning(pid, started + 60_000, false, clock), true, 'made after its owner started: running');
    assert.equal(workOwnerRunning(pid, started - 60_000, false, clock), false, 'made before that process started: its owner is gone');
  });

  it('without /proc or ps (Windows): a live id counts for a day after the folder was made, not for ever', () => {
    const pid = child.child.pid!;
    const clock = machineClock(path.join(tmp, 'no-proc'), 'win32');
    assert.equal(clock.startMs(pid), undefined);
    assert.equal(workOwnerRunning(pid, Date.now() - HOUR, false, clock), true, 'a run of an hour is running');
    assert.equal(
      workOwnerRunning(pid, Date.now() - UNKNOWN_START_STALE_MS - HOUR, false, clock),
      false,
      'a killed run of yesterday is not',
    );
  });

  it('without /proc but with ps (macOS): the start time comes from ps -o etime=', () => {
    const pid = child.child.pid!;
    const clock = machineClock(path.join(tmp, 'no-proc'), 'darwin');
    const started = clock.startMs(pid);
    assert.ok(started !== undefined && Math.abs(started - childStartedMs) < 2500, `ps says ${started}, it started at ${childStartedMs}`);
    assert.equal(workOwnerRunning(pid, Date.now(), false, clock), true);
    assert.equal(workOwnerRunning(pid, childStartedMs - HOUR, false, clock), false, 'a folder older than the process is not its');
    assert.equal(
      processStartMsFromPs(pid, () => '1-02:03:04\n', 100_000_000),
      100_000_000 - ((26 * 60 + 3) * 60 + 4) * 1000,
    );
    assert.equal(
      processStartMsFromPs(pid, () => '  05:06\n', 10_000),
      10_000 - 306_000,
    );
    assert.equal(
      processStartMsFromPs(pid, () => undefined),
      undefined,
    );
  });

  it('a dead id is never running, and this process only while it says so', () => {
    const clock = machineClock(path.join(tmp, 'no-proc'), 'win32');
    assert.equal(workOwnerRunning(2 ** 22 + 12345, Date.now(), false, clock), false);
    assert.equal(workOwnerRunning(process.pid, Date.now() - 3 * UNKNOWN_START_STALE_MS, true, clock), true);
    assert.equal(workOwnerRunning(process.pid, Date.now(), false, clock), false);
  });
});
