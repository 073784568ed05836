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

/** Machines are noisy: generous bounds, never tight timings. */
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
      assert.ok(run.summary.maxWaitMs < MAX_WRITER_WAIT_MS, `writer waited ${run.summary.maxWaitMs} ms`);
    }
    const bytesRatio = largeRun.results[0].bytes / smallRun.results[0].bytes;
    assert.ok(bytesRatio > 20, `the large environment has ${bytesRatio.toFixed(0)}x the bytes`);
    // The lock covers the snapshot and a stat of files/, never the copy of the attachments' bytes.
    assert.ok(largeRun.maxLockMs < Math.max(250, 10 * smallRun.maxLockMs), `lock ${largeRun.maxLockMs} ms on the large one`);
    for (const result of largeRun.results) {
      assert.ok(result.lockMs < result.durationMs / 3, `lock ${result.lockMs} ms of ${result.durationMs} ms`);
    }
  });
});
