import { promises as fs } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { createReadStream } from 'node:fs';
import { ServerDatabaseLocation } from '../trac/databaseUrl';
import { findTool } from './dumpTools';
import { runTool } from './toolRun';

/** How a dump file is written, from its first bytes and its name. */
export type DumpFormat = 'pg-custom' | 'pg-sql' | 'pg-sql-gz' | 'mysql-sql';

export async function dumpFormatOf(file: string): Promise<DumpFormat | undefined> {
  const handle = await fs.open(file, 'r');
  try {
    const head = Buffer.alloc(5);
    await handle.read(head, 0, 5, 0);
    if (head.toString('latin1') === 'PGDMP') return 'pg-custom';
    if (head[0] === 0x1f && head[1] === 0x8b) return 'pg-sql-gz';
  } finally {
    await handle.close();
  }
  const start = (await readStart(file, 4096)).toString('utf8');
  if (/PostgreSQL database dump/.test(start)) return 'pg-sql';
  if (/(MariaDB|MySQL) dump/.test(start)) return 'mysql-sql';
  return undefined;
}

async function readStart(file: string, bytes: number): Promise<Buffer> {
  const handle = await fs.open(file, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

async function readEnd(file: string, bytes: number): Promise<string> {
  const handle = await fs.open(file, 'r');
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, bytes);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    return buffer.toString('utf8');
  } finally {
    await handle.close();
  }
}

/** The last bytes of a gzip'd file's text. */
async function gzipEnd(file: string, bytes: number): Promise<string> {
  let tail = '';
  await new Promise<void>((resolve, reject) => {
    const stream = createReadStream(file).pipe(createGunzip());
    stream.on('data', (chunk: Buffer) => {
      tail = (tail + chunk.toString('utf8')).slice(-bytes);
    });
    stream.on('end', resolve);
    stream.on('error', reject);
    stream.on('close', resolve);
  });
  return tail;
}

/**
 * Checks a dump without a server: PostgreSQL's custom format must be readable by
 * `pg_restore --list` (its table of contents and every entry's position); plain SQL must end as
 * a complete dump ends (pg_dump's "PostgreSQL database dump complete", mysqldump's "Dump
 * completed"), which a dump cut short lacks. Returns the problem, or undefined.
 */
export async function checkDumpFile(file: string, configuredDump?: string): Promise<string | undefined> {
  const format = await dumpFormatOf(file).catch(() => undefined);
  switch (format) {
    case 'pg-custom': {
      const tool = await findTool('postgres', 'restore', configuredDump);
      const location: ServerDatabaseLocation = { kind: 'postgres', scheme: 'postgres', database: '', params: {}, display: '' };
      try {
        const { stdout } = await runTool(tool, ['--list', file], location, { doing: 'reading the dump' }).done;
        if (!/ TABLE /.test(stdout)) {
          return 'pg_restore --list found no table in it';
        }
      } catch (error) {
        return `pg_restore --list cannot read it: ${error instanceof Error ? error.message : String(error)}`;
      }
      // --list reads the table of contents only: a dump cut short passes it. Read every entry too.
      try {
        await runTool(tool, ['-f', '/dev/null', file], location, { doing: 'reading the whole dump' }).done;
        return undefined;
      } catch (error) {
        return `pg_restore cannot read all of it (cut short or damaged): ${error instanceof Error ? error.message : String(error)}`;
      }
    }
    case 'pg-sql':
      return /PostgreSQL database dump complete/.test(await readEnd(file, 4096))
        ? undefined
        : 'the SQL dump is cut short (no "dump complete" at its end)';
    case 'pg-sql-gz':
      try {
        return /PostgreSQL database dump complete/.test(await gzipEnd(file, 4096))
          ? undefined
          : 'the SQL dump is cut short (no "dump complete" at its end)';
      } catch (error) {
        return `the gzip'd dump cannot be read: ${error instanceof Error ? error.message : String(error)}`;
      }
    case 'mysql-sql':
      return /-- Dump completed/.test(await readEnd(file, 4096)) ? undefined : 'the SQL dump is cut short (no "Dump completed" at its end)';
    default:
      return 'it is not a database dump this tool knows (PostgreSQL custom or SQL format, MySQL/MariaDB SQL)';
  }
}
