/**
 * A stand-in for a busy Trac process, run as a child process (Node 22) by the tests and the
 * benchmark: through its own SQLite connection it creates tickets and adds and deletes
 * attachments the way Trac does (the file is written inside the transaction that inserts its
 * row, and deleted inside the one that deletes it), and measures how long each write waited
 * for the database lock.
 *
 * Usage: node tracWriter.js '<json WriterConfig>'. Prints JSON lines on stdout: {"type":"ready"}
 * after the first write, then {"type":"summary", …} once stdin says "stop" (or closes).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { attachmentRelativePath } from '../../src/core/trac/attachments';
import { loadSqlite } from '../../src/core/sqlite/sqlite';

export interface WriterConfig {
  environment: string;
  database: string;
  /** Pause between writes. */
  pauseMs?: number;
  /** Attachments get 1 KB to this many bytes. */
  maxAttachmentBytes?: number;
  /** SQLite busy timeout: Trac's default is 10 s. */
  busyTimeoutMs?: number;
  /**
   * PRAGMA synchronous. OFF by default: then a commit does not wait for the disk, which any
   * copy (cp -a too) makes slow, and the waits measured are the waits for locks.
   */
  synchronous?: 'OFF' | 'NORMAL' | 'FULL';
}

export interface WriterSummary {
  type: 'summary';
  writes: number;
  tickets: number;
  attachmentsAdded: number;
  attachmentsDeleted: number;
  busyErrors: number;
  /** Longest time one write spent in BEGIN IMMEDIATE plus COMMIT: waiting for locks (and the disk). */
  maxWaitMs: number;
  /** Longest BEGIN IMMEDIATE: waiting for another writer's lock, like the backup's. */
  maxBeginWaitMs: number;
  maxCommitMs: number;
  /** Longest write transaction, start to commit. */
  maxTransactionMs: number;
  /** The five longest waits, longest first. */
  topWaitsMs: number[];
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as WriterConfig;
  const Database = loadSqlite();
  const db = new Database(config.database, { timeout: config.busyTimeoutMs ?? 10_000 });
  db.pragma(`synchronous = ${config.synchronous ?? 'OFF'}`);
  const pauseMs = config.pauseMs ?? 2;
  const maxBytes = config.maxAttachmentBytes ?? 32 * 1024;
  const summary: WriterSummary = {
    type: 'summary',
    writes: 0,
    tickets: 0,
    attachmentsAdded: 0,
    attachmentsDeleted: 0,
    busyErrors: 0,
    maxWaitMs: 0,
    maxBeginWaitMs: 0,
    maxCommitMs: 0,
    maxTransactionMs: 0,
    topWaitsMs: [],
  };
  const waits: number[] = [];
  const added: Array<{ id: string; filename: string }> = [];
  const insertTicket = db.prepare(
    'INSERT INTO ticket (type, time, changetime, component, priority, owner, reporter, status, summary, description) ' +
      "VALUES ('defect', ?, ?, 'component1', 'major', 'alice', 'writer', 'new', ?, 'made by the test writer')",
  );
  const insertAttachment = db.prepare("INSERT INTO attachment VALUES ('ticket', ?, ?, ?, ?, 'from the test writer', 'writer')");
  const deleteAttachment = db.prepare("DELETE FROM attachment WHERE type = 'ticket' AND id = ? AND filename = ?");
  const file = (id: string, filename: string) =>
    path.join(config.environment, ...attachmentRelativePath('ticket', id, filename).split('/'));

  /** One write transaction, Trac-style; the file work happens between the row change and COMMIT. */
  const write = (work: () => void): void => {
    const started = performance.now();
    try {
      db.exec('BEGIN IMMEDIATE');
    } catch {
      summary.busyErrors += 1;
      return;
    }
    const locked = performance.now();
    try {
      work();
    } catch (error) {
      db.exec('ROLLBACK');
      throw error;
    }
    const committing = performance.now();
    db.exec('COMMIT');
    const done = performance.now();
    const wait = locked - started + (done - committing);
    waits.push(wait);
    summary.writes += 1;
    summary.maxWaitMs = Math.max(summary.maxWaitMs, wait);
    summary.maxBeginWaitMs = Math.max(summary.maxBeginWaitMs, locked - started);
    summary.maxCommitMs = Math.max(summary.maxCommitMs, done - committing);
    summary.maxTransactionMs = Math.max(summary.maxTransactionMs, done - started);
  };

  let stopping = false;
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (text: string) => {
    if (text.includes('stop')) {
      stopping = true;
    }
  });
  process.stdin.on('end', () => {
    stopping = true;
  });

  for (let step = 0; !stopping; step++) {
    const now = Date.now() * 1000;
    if (step % 3 === 0) {
      write(() => insertTicket.run(now, now, `ticket ${step} from the writer`));
      summary.tickets += 1;
    } else if (step % 3 === 1 || added.length === 0) {
      const id = String(1 + (step % 60));
      const filename = `writer-${process.pid}-${step}.bin`;
      const content = randomBytes(1024 + Math.floor(Math.random() * Math.max(1, maxBytes - 1024)));
      write(() => {
        insertAttachment.run(id, filename, content.length, now);
        const target = file(id, filename);
        mkdirSync(path.dirname(target), { recursive: true });
        writeFileSync(target, content);
      });
      added.push({ id, filename });
      summary.attachmentsAdded += 1;
    } else {
      const victim = added.splice(Math.floor(Math.random() * added.length), 1)[0];
      write(() => {
        deleteAttachment.run(victim.id, victim.filename);
        rmSync(file(victim.id, victim.filename), { force: true });
      });
      summary.attachmentsDeleted += 1;
    }
    if (step === 0) {
      process.stdout.write(`${JSON.stringify({ type: 'ready' })}\n`);
    }
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
  db.close();
  summary.topWaitsMs = waits
    .sort((a, b) => b - a)
    .slice(0, 5)
    .map((ms) => Math.round(ms * 10) / 10);
  for (const key of ['maxWaitMs', 'maxBeginWaitMs', 'maxCommitMs', 'maxTransactionMs'] as const) {
    summary[key] = Math.round(summary[key] * 10) / 10;
  }
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`tracWriter: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  });
}
