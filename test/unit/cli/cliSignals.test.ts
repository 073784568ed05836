import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { parseWorkName } from '../../../src/core/work/workFolder';
import { buildCli, startCli, waitUntil, workIn } from '../../support/cliChild';
import { makeTempDir, removeTempDir } from '../../support/fixtures';
import { buildLargeEnvironment } from '../../support/largeEnvironment';

const MB = 1024 * 1024;

/** What a shell reports for a process that signal ended: 128 + its number. */
const EXIT_CODES = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;

describe('trac-backup stopped by SIGINT, SIGTERM or SIGHUP (dist/cli.js, real signals)', () => {
  let tmp: string;
  let env: string;
  let backup: string;
  before(async () => {
    buildCli();
    tmp = await makeTempDir();
    env = (await buildLargeEnvironment(tmp, 'env', { attachmentBytes: 60 * MB, tickets: 300 })).path;
    backup = (await hotcopy(env, path.join(tmp, 'backups', 'b1'))).dest;
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  /** Starts `args`, sends `signal` once its work in `folder` holds data, and returns how it ended. */
  async function stopMidway(args: string[], folder: string, purpose: string, signal: NodeJS.Signals) {
    const child = startCli(args);
    const busy = async () => {
      for (const name of await workIn(folder)) {
        if (parseWorkName(name)?.purpose === purpose) {
          const stats = await fs.stat(path.join(folder, name)).catch(() => undefined);
          const size = stats?.isDirectory() ? (await fs.readdir(path.join(folder, name))).length : (stats?.size ?? 0);
          if (size > 0) {
            return true;
          }
        }
      }
      return false;
    };
    assert.ok(await waitUntil(busy, child), `the child ended before it was busy: ${child.stderr()}`);
    child.child.kill(signal);
    const ended = await child.exited;
    return { ...ended, stderr: child.stderr() };
  }

  for (const signal of ['SIGTERM', 'SIGHUP', 'SIGINT'] as const) {
    it(`hotcopy on ${signal}: cleans up, says so, exits ${EXIT_CODES[signal]}; nothing is left beside the destination`, async () => {
      const parent = path.join(tmp, `hotcopy-${signal}`);
      await fs.mkdir(parent);
      const ended = await stopMidway(['hotcopy', env, path.join(parent, 'backup')], parent, 'backup', signal);
      assert.deepEqual([ended.code, ended.signal], [EXIT_CODES[signal], null], ended.stderr);
      assert.match(ended.stderr, /^trac-backup: The backup was cancelled; nothing was changed\.$/m);
      assert.deepEqual(await fs.readdir(parent), []);
    });
  }

  it('hotcopy on SIGTERM into folders it made: removes them too', async () => {
    const parent = path.join(tmp, 'made', 'for', 'it');
    const ended = await stopMidway(['hotcopy', env, path.join(parent, 'backup')], parent, 'backup', 'SIGTERM');
    assert.equal(ended.code, 143, ended.stderr);
    assert.deepEqual(await fs.readdir(tmp).then((names) => names.includes('made')), false, 'the folders it made are left');
  });

  it('archive on SIGTERM: removes the partial archive, exits 143', async () => {
    const parent = path.join(tmp, 'archive-SIGTERM');
    await fs.mkdir(parent);
    const ended = await stopMidway(['archive', backup, path.join(parent, 'b1.tar.gz')], parent, 'archive', 'SIGTERM');
    assert.deepEqual([ended.code, ended.signal], [143, null], ended.stderr);
    assert.match(ended.stderr, /^trac-backup: The archive export was cancelled/m);
    assert.deepEqual(await fs.readdir(parent), []);
  });
});
