import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RESTORE_PHASES, RestoreProgress, restore } from '../../../src/core/restore/restore';
import { cancelWhen } from '../../support/cancel';
import { makeTempDir, removeTempDir } from '../../support/fixtures';
import { RestoreCase, besideEnvironment, makeRestoreCase } from '../../support/restoreCase';
import { fingerprintTree } from '../../support/treeCompare';

describe('cancelling a restore', () => {
  let tmp: string;
  let scenario: RestoreCase;
  let backupBefore: Map<string, string>;
  before(async () => {
    tmp = await makeTempDir();
    scenario = await makeRestoreCase(tmp);
    backupBefore = await fingerprintTree(scenario.backup);
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  /** Cancels a restore to `env` when `when` first says so; returns the phases seen. */
  async function cancelRestoreWhen(env: string, when: (event: RestoreProgress) => boolean, replace = true): Promise<string[]> {
    const seen = await cancelWhen<RestoreProgress>(
      (signal, onProgress) => restore(scenario.backup, env, { replace, signal, onProgress }),
      when,
      /The restore was cancelled; nothing was changed/,
      'the restore',
    );
    assert.deepEqual(await fingerprintTree(scenario.backup), backupBefore, 'the backup is untouched');
    return seen;
  }

  for (const phase of RESTORE_PHASES) {
    it(`at the start of '${phase}' leaves the environment as it was, with nothing beside it`, async () => {
      await cancelRestoreWhen(scenario.env, (event) => event.phase === phase);
      assert.deepEqual(await fingerprintTree(scenario.env), scenario.old);
      assert.deepEqual(await besideEnvironment(scenario.env), { asides: [], work: [] });
    });
  }

  for (const phase of ['copy', 'verify'] as const) {
    it(`in the middle of '${phase}' leaves the environment as it was`, async () => {
      await cancelRestoreWhen(scenario.env, (event) => event.phase === phase && event.filesDone >= 10);
      assert.deepEqual(await fingerprintTree(scenario.env), scenario.old);
      assert.deepEqual(await besideEnvironment(scenario.env), { asides: [], work: [] });
    });
  }

  it('into a missing path, at any phase, creates nothing (not even its parent folders)', async () => {
    const parent = path.join(tmp, 'missing-parent');
    for (const phase of RESTORE_PHASES) {
      await cancelRestoreWhen(path.join(parent, 'deeper', 'env'), (event) => event.phase === phase, false);
      await assert.rejects(fs.access(parent), { code: 'ENOENT' }, `after a cancel at '${phase}'`);
    }
  });

  it('before it starts does nothing', async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(restore(scenario.backup, scenario.env, { replace: true, signal: controller.signal }), { code: 'CANCELLED' });
    assert.deepEqual(await fingerprintTree(scenario.env), scenario.old);
  });
});
