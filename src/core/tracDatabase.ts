import { withReadOnlyDatabase } from './sqlite';

/** Trac's schema version, from the `system` table (45 for Trac 1.6). */
export function readDatabaseVersion(file: string): string | undefined {
  return withReadOnlyDatabase(file, (db) => {
    const row = db.prepare("SELECT value FROM system WHERE name = 'database_version'").get() as
      | { value: string }
      | undefined;
    return row?.value;
  });
}
