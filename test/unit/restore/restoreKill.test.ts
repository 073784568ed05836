import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { restore } from '../../../src/core/restore/restore';
import { startNode } from '../../support/childProcess';
import { makeTempDir, removeTempDir } from '../../support/fixtures';
import { RestoreCase, besideEnvironment, makeRestoreCase, sameTree } from '../../support/restoreCase';
import { fingerprintTree } from '../../support/treeCompare';

const TRIALS = 40;
const CHILD = path.join(__dirname, '..', '..', 'support', 'restoreChild.js');

interface Outcome {
  state: 'old' | 'restored' | 'between renames';
  finished: boolean;
}

describe('restore killed at random instants (SIGKILL, a real child process)', () => {
  let tmp: string;
  let scenario: RestoreCase;
  before(async () => {
    tmp = await makeTempDir();
    // A small environment with a few dozen files: every phase gets its share of the kills.
    scenario = await makeRestoreCase(path.join(tmp, 'template'), 'trac-1.6-fresh', async (env) => {
      for (let index = 0; index < 30; index++) {
        await fs.writeFile(path.join(env, 'htdocs', `file-${index}.txt`), `content ${index}\n`.repeat(200 * index + 1));
      }
    });
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  /** A fresh copy of the environment as it was before any restore, and its fingerprint. */
  async function freshEnvironment(name: string): Promise<{ env: string; old: Map<string, string> }> {
    const env = path.join(tmp, name, 'env');
    await fs.cp(scenario.env, env, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
    return { env, old: await fingerprintTree(env) };
  }

  /** Runs the child to the end once: how many progress events it sends, how long it takes, and its swap. */
  async function calibrate(): Promise<{ events: number; restoreMs: number; swapMs: number }> {
    const { env } = await freshEnvironment('calibration');
    const child = startNode([CHILD, JSON.stringify({ backup: scenario.backup, environment: env })]);
    await child.waitForLine((line) => line.includes('"progress"'));
    const started = performance.now();
    await child.waitForLine((line) => line.includes('"phase":"swap"'));
    const swapping = performance.now();
    const done = JSON.parse(await child.waitForLine((line) => line.includes('"done"'))) as { events: number };
    const ended = performance.now();
    await child.exited;
    return { events: done.events, restoreMs: ended - started, swapMs: ended - swapping };
  }

  /** After a kill: the path holds the old or the restored environment whole; the aside copy is the old one. */
  async function checkAfterKill(env: string, old: Map<string, string>): Promise<Outcome> {
    const { asides, work } = await besideEnvironment(env);
    const present = await fs.lstat(env).then(
      () => true,
      () => false,
    );
    let state: Outcome['state'];
    if (present) {
      const now = await fingerprintTree(env);
      state = sameTree(now, old) ? 'old' : sameTree(now, scenario.restored) ? 'restored' : assert.fail(`${env} holds a mixture`);
    } else {
      // Only between the two renames of the swap, after the journal was written: the next run finishes it.
      assert.ok(work.includes('.env.restore-journal.json'), `${env} is missing without a journal: ${work.join(', ')}`);
      state = 'between renames';
    }
    assert.equal(asides.length, state === 'old' ? 0 : 1, `asides: ${asides.join(', ')}`);
    for (const aside of asides) {
      assert.ok(sameTree(await fingerprintTree(path.join(path.dirname(env), aside)), old), `${aside} is the old environment, whole`);
    }
    return { state, finished: false };
  }

  it(`always leaves a whole environment and its aside copy, and the next run cleans up (${TRIALS} trials)`, async (t) => {
    const backupBefore = await fingerprintTree(scenario.backup);
    const { events, restoreMs, swapMs } = await calibrate();
    const outcomes: Outcome[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const { env, old } = await freshEnvironment(`trial-${trial}`);
      // A third of the trials: the child kills itself at a random progress event (every step
      // boundary gets hit); a third: this process kills it after a random delay (anywhere, mid-step
      // included); a third: a few milliseconds into the swap (the journal, the renames, the clean-up).
      const mode = trial % 3;
      const atEvent = mode === 0 ? 1 + Math.floor(Math.random() * events) : undefined;
      const child = startNode([CHILD, JSON.stringify({ backup: scenario.backup, environment: env, killAtEvent: atEvent })]);
      if (mode !== 0) {
        const awaited = mode === 1 ? '"progress"' : '"phase":"swap"';
        await child.waitForLine((line) => line.includes(awaited)).catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 1.2 * (mode === 1 ? restoreMs : swapMs)));
        child.child.kill('SIGKILL');
      }
      const exit = await child.exited;
      const finished = exit.code === 0;
      assert.ok(finished || exit.signal === 'SIGKILL', `trial ${trial}: the child failed: ${child.stderr()}`);

      const outcome = { ...(await checkAfterKill(env, old)), finished };
      outcomes.push(outcome);
      const leftBehind = (await besideEnvironment(env)).work;

      const next = await restore(scenario.backup, env, { replace: true });

      assert.ok(sameTree(await fingerprintTree(env), scenario.restored), `trial ${trial}: the next run restores`);
      const after = await besideEnvironment(env);
      assert.deepEqual(after.work, [], `trial ${trial}: nothing is left after the next run`);
      for (const name of leftBehind) {
        // A copy a journal names is reported with the journal.
        assert.ok(
          next.leftovers.some((leftover) => path.basename(leftover.path) === name || leftover.detail.includes(`/${name} `)),
          `trial ${trial}: ${name} is reported (${JSON.stringify(next.leftovers)})`,
        );
      }
      const asideTrees = await Promise.all(after.asides.map((aside) => fingerprintTree(path.join(path.dirname(env), aside))));
      assert.ok(
        asideTrees.some((tree) => sameTree(tree, old)),
        `trial ${trial}: the old environment is kept`,
      );
      assert.ok(asideTrees.every((tree) => sameTree(tree, old) || sameTree(tree, scenario.restored)));
      await fs.rm(path.dirname(env), { recursive: true });
    }
    assert.ok(sameTree(await fingerprintTree(scenario.backup), backupBefore), 'the backup is never changed');
    const count = (state: Outcome['state']) => outcomes.filter((outcome) => outcome.state === state && !outcome.finished).length;
    t.diagnostic(
      `${events} progress events, restore ${Math.round(restoreMs)} ms (swap ${Math.round(swapMs)} ms); killed with the old environment in place: ${count('old')}, ` +
        `with the restored one: ${count('restored')}, between the renames: ${count('between renames')}; ` +
        `finished before the kill: ${outcomes.filter((outcome) => outcome.finished).length}`,
    );
    assert.ok(count('old') > 0, 'some kills came before the swap');
  });
});
