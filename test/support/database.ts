import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { SqliteDatabase, loadSqlite, openDatabase, openReadOnly } from '../../src/core/sqlite/sqlite';

/**
 * A connection like one of Trac's, in this test process, through the SQLite layer the tool uses
 * here (TRAC_BACKUP_SQLITE picks it): two copies of SQLite in one process do not see each other's
 * locks, and closing a file in one drops the other's, so a test that holds a database open while
 * the tool works on it must use the tool's own layer. timeoutMs is SQLite's busy timeout.
 */
export function openTracDatabase(file: string, options: { readonly?: boolean; timeoutMs?: number } = {}): SqliteDatabase {
  const db = openDatabase(file, options.readonly ? 'read-only' : 'read-write');
  if (options.timeoutMs) {
    db.exec(`PRAGMA busy_timeout = ${Math.floor(options.timeoutMs)}`);
  }
  return db;
}

/** What a test checks in a database: PRAGMA integrity_check, and rows in two Trac tables. */
export function inspectDatabase(file: string): { integrity: string; tickets: number; attachments: number; journalMode: string } {
  const db = openReadOnly(file);
  try {
    const integrity = (db.pragma('integrity_check') as Array<{ integrity_check: string }>).map((row) => row.integrity_check).join('; ');
    const count = (table: string) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    const journalMode = (db.pragma('journal_mode') as Array<{ journal_mode: string }>)[0].journal_mode;
    return { integrity, tickets: count('ticket'), attachments: count('attachment'), journalMode };
  } finally {
    db.close();
  }
}

/** SQLite's variable-length integer at `offset`: its value and its length in bytes. */
function readVarint(page: Buffer, offset: number): [number, number] {
  let value = 0;
  for (let index = 0; index < 9; index++) {
    const byte = page[offset + index];
    if (index === 8) {
      return [value * 256 + byte, 9];
    }
    value = value * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      return [value, index + 1];
    }
  }
  throw new Error('unreachable');
}

/**
 * Damages one entry of an index so that it points at a row that does not exist, the b-tree left
 * whole: a database that passes PRAGMA quick_check (which checks the structure) and fails
 * integrity_check (which also checks that each index matches its table). The entry changed is a
 * rowid stored in one byte, in a leaf page of `index` (default ticket_time_idx). Both checks are
 * run on the result, and it throws unless they disagree as wanted.
 */
export function corruptIndexEntry(file: string, index = 'ticket_time_idx'): void {
  const db = new (loadSqlite())(file, { readonly: true, fileMustExist: true });
  let pageSize: number;
  let rootpage: number;
  try {
    pageSize = db.pragma('page_size', { simple: true }) as number;
    rootpage = (db.prepare("SELECT rootpage FROM sqlite_master WHERE type = 'index' AND name = ?").get(index) as { rootpage: number })
      .rootpage;
  } finally {
    db.close();
  }
  const fd = openSync(file, 'r+');
  try {
    const page = Buffer.alloc(pageSize);
    readSync(fd, page, 0, pageSize, (rootpage - 1) * pageSize);
    if (page[0] !== 0x0a) {
      throw new Error(`${index} is not a single leaf page (type ${page[0]}): choose a smaller index`);
    }
    const cells = page.readUInt16BE(3);
    const cell = page.readUInt16BE(8 + 2 * Math.floor(cells / 2));
    const [, payloadLength] = readVarint(page, cell);
    const record = cell + payloadLength;
    const [headerSize] = readVarint(page, record);
    const types: number[] = [];
    for (let at = record + readVarint(page, record)[1]; at < record + headerSize;) {
      const [type, length] = readVarint(page, at);
      types.push(type);
      at += length;
    }
    const width = (type: number) => (type >= 12 ? Math.floor((type - 12) / 2) : [0, 1, 2, 3, 4, 6, 8, 8, 0, 0][type]);
    if (types.at(-1) !== 1) {
      throw new Error(`the rowid of ${index}'s entry is not stored in one byte (serial type ${types.at(-1)})`);
    }
    const rowidAt = record + headerSize + types.slice(0, -1).reduce((sum, type) => sum + width(type), 0);
    page[rowidAt] = (page[rowidAt] + 64) & 0x7f;
    writeSync(fd, page, 0, pageSize, (rootpage - 1) * pageSize);
  } finally {
    closeSync(fd);
  }
  const check = new (loadSqlite())(file, { readonly: true, fileMustExist: true });
  try {
    const quick = (check.pragma('quick_check') as Array<{ quick_check: string }>).map((row) => row.quick_check);
    const full = (check.pragma('integrity_check') as Array<{ integrity_check: string }>).map((row) => row.integrity_check);
    if (quick.join() !== 'ok' || full.join() === 'ok') {
      throw new Error(`the damage did not come out as wanted: quick_check ${quick.join('; ')}, integrity_check ${full.join('; ')}`);
    }
  } finally {
    check.close();
  }
}
