import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { BackupManifest } from '../catalog/manifest';
import { checkDumpFile } from '../serverDatabase/dumpCheck';
import { readServerContents } from '../serverDatabase/serverContents';
import { serverError } from '../serverDatabase/serverErrors';
import { ServerDatabaseLocation } from '../trac/databaseUrl';
import { describeError } from '../shared/errors';
import { connectPostgres, quoteIdent } from '../postgres/postgresConnection';
import { dumpAsSql, loadPostgresSql } from '../postgres/postgresLoad';
import { connectMysql, quoteName } from '../mysql/mysqlConnection';
import { loadMysqlDump } from '../mysql/mysqlLoad';
import { ServerDump, findServerDump, serverWorkFolder } from '../serverDatabase/serverDump';

/** The tables every Trac 1.6 database has. */
const TRAC_TABLES = [
  'attachment',
  'component',
  'enum',
  'milestone',
  'permission',
  'report',
  'session',
  'system',
  'ticket',
  'ticket_change',
  'wiki',
];

export interface ServerDumpVerdict {
  /** Relative to the backup. */
  path: string;
  problems: string[];
  version?: string;
  /** The attachment rows of the dump (after --deep): realm, id, filename. */
  attachments?: Array<{ type: string; id: string; filename: string }>;
  note?: string;
}

/**
 * Checks a backup's server database dump without a server (readable, complete) and, deep,
 * restored into a scratch database on the server the backup's trac.ini names, dropped afterwards:
 * Trac's tables there, its database_version, its attachment rows.
 */
export async function verifyServerDump(
  backup: string,
  manifest: BackupManifest | undefined,
  deep: boolean,
): Promise<ServerDumpVerdict | undefined> {
  const dump = await findServerDump(backup, manifest).catch(() => undefined);
  if (!dump) {
    return undefined;
  }
  const relative = path.relative(backup, dump.file).split(path.sep).join('/');
  const exists = await fs.stat(dump.file).then(
    () => true,
    () => false,
  );
  if (!exists) {
    return { path: relative, problems: ['is missing: the backup has no database dump'] };
  }
  const problem = await checkDumpFile(dump.file, dump.configuredDump).catch((error: unknown) => describeError(error));
  if (problem || !deep) {
    return { path: relative, problems: problem ? [problem] : [], version: manifest?.database.version };
  }
  if (!dump.from) {
    return { path: relative, problems: [], note: 'The backup names no server to restore the dump into: --deep was skipped.' };
  }
  try {
    return { path: relative, ...(await restoreIntoScratch(dump, dump.from)) };
  } catch (error) {
    return {
      path: relative,
      problems: [`could not be restored into a scratch database: ${describeError(serverError(error, dump.from, 'the deep check'))}`],
    };
  }
}

async function restoreIntoScratch(dump: ServerDump, server: ServerDatabaseLocation): Promise<Omit<ServerDumpVerdict, 'path'>> {
  const scratch = `trac_backup_verify_${process.pid}_${Date.now().toString(36)}`;
  const target: ServerDatabaseLocation = { ...server, database: scratch, display: `${server.scheme}://…/${scratch}` };
  const work = await serverWorkFolder();
  const admin = server.kind === 'postgres' ? await connectPostgres(server, 'creating a scratch database for --deep') : undefined;
  const my = server.kind === 'mysql' ? await connectMysql(server, 'creating a scratch database for --deep', { database: null }) : undefined;
  const problems: string[] = [];
  try {
    try {
      if (admin) await admin.query(`CREATE DATABASE ${quoteIdent(scratch)} TEMPLATE template0 ENCODING 'UTF8'`);
      if (my) await my.query(`CREATE DATABASE ${quoteName(scratch)} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    } catch (error) {
      const user = server.user ?? 'the user';
      throw new Error(
        `${user} may not create databases on ${server.display} (${describeError(error)}): --deep needs ` +
          (server.kind === 'postgres'
            ? `CREATEDB (ALTER ROLE "${user}" CREATEDB)`
            : `CREATE on ${scratch.replace(/_[^_]+_[^_]+$/, '')}_% (GRANT ALL ON \`trac\\_backup\\_verify\\_%\`.* TO '${user}'@'…')`),
        { cause: error },
      );
    }
    if (server.kind === 'postgres') {
      const sql = path.join(work, 'restore.sql');
      await dumpAsSql(dump.file, dump.format, sql, dump.configuredDump);
      await loadPostgresSql(sql, target, { configuredDump: dump.configuredDump });
    } else {
      await loadMysqlDump(dump.file, target, scratch, dump.configuredDump);
    }
    const contents = await readServerContents(target, 10000, scratch);
    const tables = await tablesOf(target, scratch);
    const missing = TRAC_TABLES.filter((table) => !tables.includes(table));
    if (missing.length > 0) problems.push(`restored, lacks Trac's tables ${missing.join(', ')}`);
    if (!contents.version) problems.push('restored, has no database_version in its system table: it is not a Trac database');
    return { problems, version: contents.version, attachments: await attachmentsOf(target, scratch) };
  } finally {
    await admin?.query(`DROP DATABASE IF EXISTS ${quoteIdent(scratch)}`).catch(() => undefined);
    await admin?.end().catch(() => undefined);
    await my?.query(`DROP DATABASE IF EXISTS ${quoteName(scratch)}`).catch(() => undefined);
    await my?.end().catch(() => undefined);
    await fs.rm(work, { recursive: true, force: true });
  }
}

async function tablesOf(target: ServerDatabaseLocation, database: string): Promise<string[]> {
  if (target.kind === 'postgres') {
    const client = await connectPostgres(target, 'reading the scratch database', { database });
    try {
      const schema = target.schema ?? 'public';
      return (
        await client.query<{ t: string }>('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = $1', [schema])
      ).rows.map((row) => row.t);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  const connection = await connectMysql(target, 'reading the scratch database', { database });
  try {
    return (
      (await connection.query('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = ?', [database]))[0] as Array<{
        t: string;
      }>
    ).map((row) => row.t);
  } finally {
    await connection.end().catch(() => undefined);
  }
}

async function attachmentsOf(
  target: ServerDatabaseLocation,
  database: string,
): Promise<Array<{ type: string; id: string; filename: string }>> {
  if (target.kind === 'postgres') {
    const client = await connectPostgres(target, 'reading the scratch database', { database });
    try {
      return (
        await client.query<{ type: string; id: string; filename: string }>(
          `SELECT type, id, filename FROM ${quoteIdent(target.schema ?? 'public')}.attachment`,
        )
      ).rows;
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  const connection = await connectMysql(target, 'reading the scratch database', { database });
  try {
    return (await connection.query('SELECT type, id, filename FROM attachment'))[0] as Array<{
      type: string;
      id: string;
      filename: string;
    }>;
  } finally {
    await connection.end().catch(() => undefined);
  }
}
