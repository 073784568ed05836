// A Trac-like writer of a PostgreSQL or MySQL/MariaDB environment, run in a child process by
// startServerWriter: one loop adds and deletes attachments the way Trac does (the file written
// inside the transaction that inserts its row, deleted inside the one that deletes it), another
// adds tickets. Each reports its longest transaction (its longest wait, on an idle server).
import { mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { attachmentRelativePath } from '../../src/core/trac/attachments';
import { ServerDatabaseLocation, parseDatabaseUrl } from '../../src/core/trac/databaseUrl';
import { connectPostgres, quoteIdent, schemaOf } from '../../src/core/postgres/postgresConnection';
import { connectMysql } from '../../src/core/mysql/mysqlConnection';

export interface ServerWriterConfig {
  url: string;
  env: string;
}

export interface ServerWriterSummary {
  attachmentsAdded: number;
  attachmentsDeleted: number;
  tickets: number;
  maxAttachmentMs: number;
  maxTicketMs: number;
}

interface Sql {
  exec(sql: string, params?: unknown[]): Promise<unknown>;
  end(): Promise<void>;
}

async function open(location: ServerDatabaseLocation): Promise<Sql> {
  if (location.kind === 'postgres') {
    const client = await connectPostgres(location, 'writing');
    await client.query(`SET search_path = ${quoteIdent(schemaOf(location))}`);
    return {
      exec: async (sql, params) => {
        let n = 0;
        await client.query(
          sql.replace(/\?/g, () => `$${++n}`),
          params,
        );
      },
      end: () => client.end(),
    };
  }
  const connection = await connectMysql(location, 'writing');
  return { exec: (sql, params) => connection.query(sql, params), end: () => connection.end() };
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2]) as ServerWriterConfig;
  const location = parseDatabaseUrl(config.url, config.env) as ServerDatabaseLocation;
  const attachmentsDb = await open(location);
  const ticketsDb = await open(location);
  const summary: ServerWriterSummary = { attachmentsAdded: 0, attachmentsDeleted: 0, tickets: 0, maxAttachmentMs: 0, maxTicketMs: 0 };
  let stopping = false;
  process.stdin.on('data', () => (stopping = true));
  process.stdin.on('end', () => (stopping = true));
  const begin = location.kind === 'postgres' ? 'BEGIN' : 'START TRANSACTION';
  const added: string[] = [];
  const attachments = async () => {
    for (let n = 0; !stopping; n++) {
      const started = performance.now();
      const filename = `live-${process.pid}-${n}.txt`;
      const relative = attachmentRelativePath('ticket', '1', filename);
      const file = path.join(config.env, ...relative.split('/'));
      const content = `attachment ${n}\n`.repeat(50 + (n % 50));
      await attachmentsDb.exec(begin);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, content);
      await attachmentsDb.exec(
        'INSERT INTO attachment (type, id, filename, size, time, description, author) VALUES (?, ?, ?, ?, ?, ?, ?)',
        ['ticket', '1', filename, Buffer.byteLength(content), Date.now() * 1000, 'live', 'writer'],
      );
      await attachmentsDb.exec('COMMIT');
      summary.attachmentsAdded += 1;
      added.push(filename);
      if (n % 3 === 2) {
        const gone = added.splice(0, 1)[0];
        await attachmentsDb.exec(begin);
        await attachmentsDb.exec("DELETE FROM attachment WHERE type = 'ticket' AND id = '1' AND filename = ?", [gone]);
        unlinkSync(path.join(config.env, ...attachmentRelativePath('ticket', '1', gone).split('/')));
        await attachmentsDb.exec('COMMIT');
        summary.attachmentsDeleted += 1;
      }
      summary.maxAttachmentMs = Math.max(summary.maxAttachmentMs, performance.now() - started);
      if (n === 0) process.stdout.write(`${JSON.stringify({ type: 'started' })}\n`);
    }
  };
  const tickets = async () => {
    for (let n = 0; !stopping; n++) {
      const started = performance.now();
      await ticketsDb.exec(begin);
      await ticketsDb.exec('INSERT INTO ticket (type, time, changetime, summary, status, reporter) VALUES (?, ?, ?, ?, ?, ?)', [
        'defect',
        Date.now() * 1000,
        Date.now() * 1000,
        `live ticket ${n}`,
        'new',
        'writer',
      ]);
      await ticketsDb.exec('COMMIT');
      summary.tickets += 1;
      summary.maxTicketMs = Math.max(summary.maxTicketMs, performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  };
  await Promise.all([attachments(), tickets()]);
  await attachmentsDb.end();
  await ticketsDb.end();
  process.stdout.write(`${JSON.stringify({ type: 'summary', ...summary })}\n`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${String(error instanceof Error ? error.stack : error)}\n`);
    process.exit(1);
  });
}
