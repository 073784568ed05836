import { openReadOnly } from '../../src/core/sqlite';

/** What a test checks in a database: PRAGMA integrity_check, and rows in two Trac tables. */
export function inspectDatabase(file: string): { integrity: string; tickets: number; attachments: number; journalMode: string } {
  const db = openReadOnly(file);
  try {
    const integrity = (db.pragma('integrity_check') as Array<{ integrity_check: string }>)
      .map((row) => row.integrity_check)
      .join('; ');
    const count = (table: string) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    const journalMode = (db.pragma('journal_mode') as Array<{ journal_mode: string }>)[0].journal_mode;
    return { integrity, tickets: count('ticket'), attachments: count('attachment'), journalMode };
  } finally {
    db.close();
  }
}
