import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { ServerDatabaseLocation } from '../trac/databaseUrl';
import { DumpFormat } from '../serverDatabase/dumpCheck';
import { findTool } from '../serverDatabase/dumpTools';
import { runTool } from '../serverDatabase/toolRun';
import { pgConnectionArgs } from './postgresDump';
import { quoteIdent, schemaOf } from './postgresConnection';

/**
 * The dump as SQL that loads into any database as the restoring role: pg_restore's output of a
 * custom-format dump (no owners, no grants), or trac-admin hotcopy's gzip'd SQL with its
 * `CREATE DATABASE`, `\connect` and `OWNER TO` lines left out. `CREATE SCHEMA x;` becomes
 * `CREATE SCHEMA IF NOT EXISTS x;` (a new database already has public).
 */
export async function dumpAsSql(dump: string, format: DumpFormat, sqlFile: string, configuredDump?: string): Promise<void> {
  let source: Readable;
  if (format === 'pg-custom') {
    const tool = await findTool('postgres', 'restore', configuredDump);
    const raw = `${sqlFile}.raw`;
    const location: ServerDatabaseLocation = { kind: 'postgres', scheme: 'postgres', database: '', params: {}, display: '' };
    await runTool(tool, ['--no-owner', '--no-privileges', '-f', raw, dump], location, { doing: 'reading the dump' }).done;
    source = createReadStream(raw);
  } else {
    source = format === 'pg-sql-gz' ? createReadStream(dump).pipe(createGunzip()) : createReadStream(dump);
  }
  const out = createWriteStream(sqlFile, { mode: 0o600 });
  const lines = readline.createInterface({ input: source, crlfDelay: Infinity });
  for await (const line of lines) {
    let kept: string | undefined = line;
    if (/^(CREATE DATABASE |ALTER DATABASE |\\connect )/.test(line) || /^ALTER .* OWNER TO .*;$/.test(line)) {
      kept = undefined;
    } else if (/^CREATE SCHEMA ([^ ]+);$/.test(line)) {
      kept = line.replace(/^CREATE SCHEMA ([^ ]+);$/, 'CREATE SCHEMA IF NOT EXISTS $1;');
    }
    if (kept !== undefined && !out.write(`${kept}\n`)) {
      await new Promise<void>((resolve) => out.once('drain', () => resolve()));
    }
  }
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  await fs.rm(`${sqlFile}.raw`, { force: true });
}

/** The schema a dump's SQL creates, if it says (pg_dump -n writes `CREATE SCHEMA name;`). */
export async function schemaInSql(sqlFile: string): Promise<string | undefined> {
  const lines = readline.createInterface({ input: createReadStream(sqlFile), crlfDelay: Infinity });
  for await (const line of lines) {
    const match = /^CREATE SCHEMA IF NOT EXISTS ([^ ]+);$/.exec(line);
    if (match) {
      lines.close();
      return match[1].replace(/^"(.*)"$/, '$1').replace(/""/g, '"');
    }
  }
  return undefined;
}

/**
 * Loads the SQL into `target` in ONE transaction of psql reading files only (so that a restore
 * killed at any instant leaves the old data or the new, whole: psql either commits all or the
 * server rolls it back): first the schema there now is renamed to `aside` (kept, not dropped),
 * then the dump creates it anew. Without `aside`, the schema must not hold Trac's tables yet.
 */
export async function loadPostgresSql(
  sqlFile: string,
  target: ServerDatabaseLocation,
  options: { aside?: string; dropFirst?: boolean; configuredDump?: string; signal?: AbortSignal },
): Promise<void> {
  const psql = await findTool('postgres', 'shell', options.configuredDump);
  const script = path.join(path.dirname(sqlFile), 'swap.sql');
  const schema = quoteIdent(schemaOf(target));
  const quotedFile = `'${sqlFile.replace(/'/g, "''")}'`;
  await fs.writeFile(
    script,
    [
      '\\set ON_ERROR_STOP on',
      'BEGIN;',
      ...(options.aside ? [`ALTER SCHEMA ${schema} RENAME TO ${quoteIdent(options.aside)};`] : []),
      ...(options.dropFirst ? [`DROP SCHEMA IF EXISTS ${schema} CASCADE;`] : []),
      `\\i ${quotedFile}`,
      'COMMIT;',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const args = ['-X', '-q', '-o', '/dev/null', ...pgConnectionArgs(target), '-d', target.database, '-f', script];
  await runTool(psql, args, target, { doing: `loading the backup into ${target.display}`, signal: options.signal }).done;
}
