import { randomFillSync } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { attachmentRelativePath } from '../../src/core/trac/attachments';
import { loadSqlite } from '../../src/core/sqlite/sqlite';
import { copyFixture } from './fixtures';

export interface LargeEnvironmentOptions {
  /** Bytes of attachments to add. */
  attachmentBytes: number;
  /** Average attachment size; sizes spread from a quarter to 1.75 times this. */
  averageBytes?: number;
  /** Attachments are spread over this many tickets (Trac makes one folder per ticket). */
  tickets?: number;
}

/**
 * A copy of the populated fixture at parent/name with many more attachments, added the way Trac
 * lays them out (a row in `attachment`, the file at its hashed path), with random content.
 */
export async function buildLargeEnvironment(
  parent: string,
  name: string,
  options: LargeEnvironmentOptions,
): Promise<{ path: string; attachments: number; bytes: number }> {
  const environment = await copyFixture('trac-1.6-populated', name, parent);
  const average = options.averageBytes ?? 80 * 1024;
  const tickets = options.tickets ?? 2000;
  const Database = loadSqlite();
  const db = new Database(path.join(environment, 'db', 'trac.db'));
  const insert = db.prepare("INSERT INTO attachment VALUES ('ticket', ?, ?, ?, ?, 'generated', 'bench')");
  const buffer = Buffer.allocUnsafe(Math.ceil(average * 1.75) + 1);
  let bytes = 0;
  let count = 0;
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  db.exec('BEGIN');
  try {
    while (bytes < options.attachmentBytes) {
      const size = Math.round(average * (0.25 + 1.5 * next()));
      const id = String(1 + (count % tickets));
      const filename = `generated-${count}.bin`;
      const file = path.join(environment, ...attachmentRelativePath('ticket', id, filename).split('/'));
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, randomFillSync(buffer, 0, size).subarray(0, size));
      insert.run(id, filename, size, Date.now() * 1000);
      bytes += size;
      count += 1;
    }
    db.exec('COMMIT');
  } finally {
    db.close();
  }
  return { path: environment, attachments: count, bytes };
}
