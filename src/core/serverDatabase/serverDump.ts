import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BackupManifest } from '../catalog/manifest';
import { ServerDatabaseLocation, isServerLocation, parseDatabaseUrl } from '../trac/databaseUrl';
import { readTracConfig } from '../trac/tracIni';
import { schemaOf } from '../postgres/postgresConnection';
import { DumpFormat, dumpFormatOf } from './dumpCheck';

/** Where trac-admin hotcopy puts the dump of a server database. */
const TRAC_ADMIN_DUMPS = { postgres: 'db/postgres-db-backup.sql.gz', mysql: 'db/mysql-db-backup.sql' } as const;

/** A backup's dump of a PostgreSQL or MySQL/MariaDB database. */
export interface ServerDump {
  kind: 'postgres' | 'mysql';
  /** Absolute path of the dump in the backup. */
  file: string;
  format: DumpFormat;
  /** The schema it holds (PostgreSQL). */
  schema?: string;
  /** The database the backup was made from, as its trac.ini names it (password included: never show it). */
  from?: ServerDatabaseLocation;
  /** What it holds, when the metadata says. */
  holds?: { tickets?: number; wikiPages?: number };
  configuredDump?: string;
}

/** The server database dump a backup holds: this tool's (metadata) or trac-admin hotcopy's; undefined for SQLite. */
export async function findServerDump(backup: string, manifest: BackupManifest | undefined): Promise<ServerDump | undefined> {
  const config = await readTracConfig(path.join(backup, 'conf', 'trac.ini')).catch(() => undefined);
  const url = config?.get('trac', 'database');
  const location = url ? parseDatabaseUrl(url, backup) : undefined;
  const from = isServerLocation(location) ? location : undefined;
  const configuredDump = from && (config?.get('trac', from.kind === 'postgres' ? 'pg_dump_path' : 'mysqldump_path') || undefined);
  const server = manifest?.database.server;
  if (server && manifest?.database.path) {
    const file = path.join(backup, ...manifest.database.path.split('/'));
    return {
      kind: server.server,
      file,
      format: server.format === 'pg-custom' ? 'pg-custom' : 'mysql-sql',
      schema: server.schema,
      from,
      holds: { tickets: server.tickets, wikiPages: server.wikiPages },
      configuredDump,
    };
  }
  if (manifest || !from) {
    return undefined;
  }
  const file = path.join(backup, ...TRAC_ADMIN_DUMPS[from.kind].split('/'));
  const format = await dumpFormatOf(file).catch(() => undefined);
  if (!format) {
    return undefined;
  }
  return { kind: from.kind, file, format, schema: from.kind === 'postgres' ? schemaOf(from) : undefined, from, configuredDump };
}

/** A private work folder for the restore's SQL (mode 0700), removed by the caller. */
export async function serverWorkFolder(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'trac-backup-restore-sql-'));
}
