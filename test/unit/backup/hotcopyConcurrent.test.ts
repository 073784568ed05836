import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findAttachmentMismatches } from '../../../src/core/trac/attachments';
import { HotcopyResult, hotcopy } from '../../../src/core/backup/hotcopy';
import { inspectDatabase } from '../../support/database';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';
import { buildLargeEnvironment } from '../../support/largeEnvironment';
import { WriterSummary } from '../../support/tracWriter';
import { startWriter } from '../../support/writerProcess';

/**
 * How long a writer may wait for a backup's lock on an idle machine. On a busy one the hold
 * itself stretches (the snapshot and the stat of files/ get less CPU), and a writer may wait as
 * long as the longest hold, with as much again to spare: what it must never wait for is the copy
 * of the attachments' bytes, which the bounds on the hold below rule out at any speed.
 */
const MAX_WRITER_WAIT_MS = 1000;

/** Runs `rounds` hotcopies while a writer process adds and deletes attachments, checking each backup. */
async function backUpUnderWriter(env: string, backups: string, rounds: number) {
  const writer = await startWriter({ environment: env, database: path.join(env, 'db', 'trac.db'), pauseMs: 1 });
  const results: HotcopyResult[] = [];
  let summary: WriterSummary;
  try {
    for (let round = 0; round < rounds; round++) {
      results.push(await hotcopy(env, path.join(backups, `round-${round}`)));
    }
  } finally {
    summary = await writer.stop();
  }
  for (const result of results) {
    const database = path.join(result.dest, 'db', 'trac.db');
    assert.equal(inspectDatabase(database).integrity, 'ok');
    const mismatches = await findAttachmentMismatches(result.dest, database);
    assert.deepEqual(mismatches.missingFiles, [], `${result.dest}: every attachment row has its file`);
    assert.deepEqual(mismatches.unlistedFiles, [], `${result.dest}: every attachment file has its row`);
  }
  return { results, summary, maxLockMs: Math.max(...results.map((result) => result.lockMs)) };
}

describe('hotcopy while Trac writes', () => {
  let tmp: string;
  before(async () => {
    tmp = await makeTempDir();
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it('keeps attachments and rows in agreement, holds writers briefly, and the hold does not grow with the attachments', async (t) => {
    const small = await copyFixture('trac-1.6-populated', 'small', tmp);
    const smallRun = await backUpUnderWriter(small, path.join(tmp, 'small-backups'), 4);
    const large = await buildLargeEnvironment(tmp, 'large', { attachmentBytes: 40 * 1024 * 1024, averageBytes: 16 * 1024, tickets: 800 });
    const largeRun = await backUpUnderWriter(large.path, path.join(tmp, 'large-backups'), 2);

    const report = (name: string, run: Awaited<ReturnType<typeof backUpUnderWriter>>) =>
      `${name}: ${run.results[0].files} files, ${(run.results[0].bytes / 1e6).toFixed(1)} MB, hotcopy ` +
      `${run.results.map((result) => Math.round(result.durationMs)).join('/')} ms, lock ${run.maxLockMs} ms; writer: ` +
      `${run.summary.writes} writes (${run.summary.attachmentsAdded} added, ${run.summary.attachmentsDeleted} deleted), ` +
      `longest wait ${run.summary.maxWaitMs} ms`;
    t.diagnostic(report('small', smallRun));
    t.diagnostic(report('large', largeRun));

    for (const run of [smallRun, largeRun]) {
      assert.ok(run.summary.attachmentsAdded > 0 && run.summary.attachmentsDeleted > 0, 'the writer was busy');
      assert.equal(run.summary.busyErrors, 0);
      assert.ok(
        run.summary.maxWaitMs < Math.max(MAX_WRITER_WAIT_MS, 2 * run.maxLockMs),
        `writer waited ${run.summary.maxWaitMs} ms (longest hold ${run.maxLockMs} ms)`,
      );
    }
    const bytesRatio = largeRun.results[0].bytes / smallRun.results[0].bytes;
    assert.ok(bytesRatio > 20, `the large environment has ${bytesRatio.toFixed(0)}x the bytes`);
    // The lock covers the snapshot and a stat of files/, never the copy of the attachments' bytes
    // (most of the large one's 43 MB, which under the lock would make it most of the backup). It is
    // measured against the backup it is part of, at the same moment and so the same speed: the two
    // environments are backed up a minute apart on a machine whose load comes and goes, and the
    // large one's lock rightly takes longer (a larger database, 50 times the files to stat).
    for (const [name, run] of [
      ['small', smallRun],
      ['large', largeRun],
    ] as const) {
      for (const result of run.results) {
        assert.ok(result.lockMs < result.durationMs / 3, `${name}: lock ${result.lockMs} ms of ${result.durationMs} ms`);
      }
    }
  });
});
