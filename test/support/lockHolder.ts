/**
 * Holds an SQLite lock in a child process, like a Trac request in the middle of a write:
 * BEGIN IMMEDIATE (or, with TRAC_LOCK=exclusive, BEGIN EXCLUSIVE, which keeps readers out too in
 * a rollback-journal database) on the database named by the TRAC_DB environment variable (kept
 * off the command line, so that only the lock and the open file can give it away). Prints
 * "locked", then rolls back and exits when stdin closes.
 */
import { loadSqlite } from '../../src/core/sqlite/sqlite';

if (require.main === module) {
  const db = new (loadSqlite())(process.env.TRAC_DB ?? '', { fileMustExist: true });
  db.exec(process.env.TRAC_LOCK === 'exclusive' ? 'BEGIN EXCLUSIVE' : 'BEGIN IMMEDIATE');
  process.stdout.write('locked\n');
  process.stdin.resume();
  process.stdin.on('end', () => {
    db.exec('ROLLBACK');
    db.close();
    process.exit(0);
  });
}
