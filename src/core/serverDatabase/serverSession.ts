import { attachmentRelativePath } from '../trac/attachments';
import { ServerDatabaseLocation } from '../trac/databaseUrl';

/** What a backup's metadata records of a server database: never the user's password. */
export interface ServerDatabaseFacts {
  server: 'postgres' | 'mysql';
  host?: string;
  port?: number;
  socket?: string;
  database: string;
  /** PostgreSQL: the schema dumped. */
  schema?: string;
  /** The dump tool's path and the version it printed. */
  tool: string;
  toolVersion: string;
  serverVersion: string;
  /** The dump's format: PostgreSQL's custom format or plain SQL. */
  format: 'pg-custom' | 'sql';
  /** What the dump holds: tickets and distinct wiki pages (for a restore's prompt). */
  tickets?: number;
  wikiPages?: number;
}

export interface StartedDump {
  /** Resolves once the dump's snapshot is fixed: the lock on the attachments may go. */
  begun: Promise<void>;
  /** Resolves when the dump file is complete. */
  done: Promise<void>;
  pid?: number;
}

/**
 * A backup's connection to the server of a Trac environment, in the order a backup uses it:
 * readAttachmentRows() (as often as it likes, no lock), then once freeze() (attachment writers
 * wait from here; the rows returned are those the dump will hold), startDump(), await begun,
 * thaw() (writers go on), await done, close(). Ticket and wiki writers never wait.
 */
export interface ServerDumpSession {
  readonly location: ServerDatabaseLocation;
  readonly facts: ServerDatabaseFacts;
  /** Where the dump goes in the backup, relative ('db/<database>.pgdump' or 'db/<database>.sql'). */
  readonly storedAt: string;
  /** True when the dump must begin before thaw() (MySQL); false when it shares a snapshot already fixed (PostgreSQL). */
  readonly dumpNeedsLock: boolean;
  /** The attachment rows as committed now: path → signature (see trac/attachments.ts). */
  readAttachmentRows(): Promise<Map<string, string>>;
  freeze(signal?: AbortSignal): Promise<{ rows: Map<string, string>; waitMs: number; version?: string }>;
  /** Optional: start the dump tool before freeze(), held before its snapshot until startDump(). */
  prepareDump?(file: string, signal?: AbortSignal): Promise<void>;
  startDump(file: string, signal?: AbortSignal): StartedDump;
  /** Lets attachment writers go on; how long they were held (ms). */
  thaw(): Promise<number>;
  close(): Promise<void>;
}

/** The signature of an attachment row, as trac/attachments.ts's AttachmentIndex makes it. */
export function attachmentSignature(row: { type: unknown; id: unknown; filename: unknown; size: unknown; time: unknown }): string {
  const text = (value: unknown) =>
    typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint'
      ? String(value)
      : value instanceof Buffer
        ? value.toString('utf8')
        : '';
  return `${text(row.type)}\0${text(row.id)}\0${text(row.filename)}\0${text(row.size)}\0${text(row.time)}`;
}

/** An attachment row as a driver returns it. */
export interface AttachmentDbRow {
  type: string;
  id: string;
  filename: string;
  size: number | string | null;
  time: number | string | null;
}

export function rowsByPath(rows: AttachmentDbRow[]): Map<string, string> {
  const result = new Map<string, string>();
  for (const row of rows) {
    result.set(attachmentRelativePath(String(row.type), String(row.id), String(row.filename)), attachmentSignature(row));
  }
  return result;
}

/** Where a server database's dump goes in a backup. */
export function dumpStoredAt(location: ServerDatabaseLocation): string {
  return `db/${safeFileName(location.database)}.${location.kind === 'postgres' ? 'pgdump' : 'sql'}`;
}

/** A database name as a file name: what a file name cannot hold becomes '_'. */
export function safeFileName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_') || 'database';
}
