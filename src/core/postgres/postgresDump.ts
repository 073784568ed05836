import type { Client } from 'pg';
import { ServerDatabaseLocation } from '../trac/databaseUrl';
import {
  AttachmentDbRow,
  ServerDatabaseFacts,
  ServerDumpSession,
  StartedDump,
  rowsByPath,
  dumpStoredAt,
} from '../serverDatabase/serverSession';
import { findTool, requireToolNotOlder, toolVersion } from '../serverDatabase/dumpTools';
import { runTool } from '../serverDatabase/toolRun';
import { serverError } from '../serverDatabase/serverErrors';
import { connectPostgres, quoteIdent, schemaOf } from './postgresConnection';

/** pg_dump's connection options for a location: -p always when known (a socket host needs it too). */
export function pgConnectionArgs(location: ServerDatabaseLocation): string[] {
  const args: string[] = [];
  const host = location.socket ?? location.host;
  if (host) args.push('-h', host);
  if (location.port !== undefined) args.push('-p', String(location.port));
  if (location.user) args.push('-U', location.user);
  args.push('-w');
  return args;
}

/**
 * The backup's side of a PostgreSQL database: connection A holds a REPEATABLE READ snapshot that
 * pg_dump shares (--snapshot) and that the attachment rows are read in; connection B holds
 * `LOCK TABLE attachment IN SHARE MODE` (attachment writers wait; readers and every other table
 * go on) only from before that snapshot is taken until the attachment files are opened.
 */
export class PostgresDumpSession implements ServerDumpSession {
  private locker?: Client;
  private snapshotId?: string;
  private lockedAt = 0;
  /** pg_dump shares the exported snapshot: it needs no lock, and starts once the lock is gone. */
  readonly dumpNeedsLock = false;

  private constructor(
    readonly location: ServerDatabaseLocation,
    readonly facts: ServerDatabaseFacts,
    readonly storedAt: string,
    private readonly reader: Client,
  ) {}

  static async open(location: ServerDatabaseLocation, configuredDump: string | undefined): Promise<PostgresDumpSession> {
    const tool = await findTool('postgres', 'dump', configuredDump);
    const printed = await toolVersion(tool);
    const reader = await connectPostgres(location, 'connecting for the backup');
    try {
      const serverVersion = String((await reader.query<{ server_version: string }>('SHOW server_version')).rows[0].server_version);
      requireToolNotOlder(tool, printed, serverVersion, 'major', 'PostgreSQL');
      const schema = schemaOf(location);
      const facts: ServerDatabaseFacts = {
        server: 'postgres',
        ...(location.host !== undefined && { host: location.host }),
        ...(location.port !== undefined && { port: location.port }),
        ...(location.socket !== undefined && { socket: location.socket }),
        database: location.database,
        schema,
        tool,
        toolVersion: printed,
        serverVersion,
        format: 'pg-custom',
      };
      return new PostgresDumpSession(location, facts, dumpStoredAt(location), reader);
    } catch (error) {
      await reader.end().catch(() => undefined);
      throw serverError(error, location, 'checking the server');
    }
  }

  private get attachmentTable(): string {
    return `${quoteIdent(schemaOf(this.location))}.attachment`;
  }

  async readAttachmentRows(): Promise<Map<string, string>> {
    const result = await this.reader
      .query<AttachmentDbRow>(`SELECT type, id, filename, size, time FROM ${this.attachmentTable}`)
      .catch((error: unknown) => {
        throw serverError(error, this.location, 'reading the attachment rows');
      });
    return rowsByPath(result.rows);
  }

  async freeze(): Promise<{ rows: Map<string, string>; waitMs: number; version?: string }> {
    const locker = (this.locker = await connectPostgres(this.location, 'locking the attachments'));
    const waitStarted = performance.now();
    try {
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE ${this.attachmentTable} IN SHARE MODE`);
      this.lockedAt = performance.now();
      const waitMs = this.lockedAt - waitStarted;
      await this.reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      this.snapshotId = String((await this.reader.query<{ id: string }>('SELECT pg_export_snapshot() AS id')).rows[0].id);
      const rows = rowsByPath(
        (await this.reader.query<AttachmentDbRow>(`SELECT type, id, filename, size, time FROM ${this.attachmentTable}`)).rows,
      );
      const version = (
        await this.reader.query<{ value: string }>(
          `SELECT value FROM ${quoteIdent(schemaOf(this.location))}.system WHERE name = 'database_version'`,
        )
      ).rows[0]?.value;
      return { rows, waitMs, version };
    } catch (error) {
      throw serverError(error, this.location, 'taking the snapshot');
    }
  }

  startDump(file: string, signal?: AbortSignal): StartedDump {
    if (!this.snapshotId) {
      throw new Error('startDump before freeze');
    }
    const args = [
      '-Fc',
      '-n',
      quoteIdent(schemaOf(this.location)),
      `--snapshot=${this.snapshotId}`,
      ...pgConnectionArgs(this.location),
      '-f',
      file,
      this.location.database,
    ];
    const run = runTool(this.facts.tool, args, this.location, { signal, doing: `dumping ${this.location.display}` });
    return { begun: Promise.resolve(), done: run.done.then(() => undefined), pid: run.pid };
  }

  async thaw(): Promise<number> {
    const locker = this.locker;
    this.locker = undefined;
    if (!locker) {
      return 0;
    }
    const heldMs = performance.now() - this.lockedAt;
    await locker.query('COMMIT').catch(() => undefined);
    void locker.end().catch(() => undefined);
    // What the dump holds, for a restore's prompt: counted in the same snapshot, after the lock.
    const table = (name: string) => `${quoteIdent(schemaOf(this.location))}.${name}`;
    const counts = await this.reader
      .query<{ tickets: string; pages: string }>(
        `SELECT (SELECT count(*) FROM ${table('ticket')}) AS tickets, (SELECT count(DISTINCT name) FROM ${table('wiki')}) AS pages`,
      )
      .catch(() => undefined);
    if (counts) {
      this.facts.tickets = Number(counts.rows[0].tickets);
      this.facts.wikiPages = Number(counts.rows[0].pages);
    }
    return heldMs;
  }

  async close(): Promise<void> {
    await this.thaw();
    await this.reader.query('COMMIT').catch(() => undefined);
    await this.reader.end().catch(() => undefined);
  }
}
