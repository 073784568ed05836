import type { Connection } from 'mysql2/promise';
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
import { TracBackupError } from '../shared/errors';
import { connectMysql } from './mysqlConnection';
import { DumpGate } from './dumpGate';

/** What mysqldump/mariadb-dump writes before each table, after its consistent snapshot began. */
const FIRST_TABLE_MARKER = '-- Table structure for table';

/** The dump tool's connection options: `--no-defaults` first (it must be), the password only in MYSQL_PWD. */
export function mysqlConnectionArgs(location: ServerDatabaseLocation): string[] {
  const args = ['--no-defaults'];
  if (location.socket) {
    args.push('--protocol=socket', `--socket=${location.socket}`);
  } else {
    args.push('-h', location.host ?? 'localhost', '-P', String(location.port ?? 3306), '--protocol=tcp');
  }
  if (location.user) args.push(`--user=${location.user}`);
  return args;
}

/**
 * The backup's side of a MySQL/MariaDB database: connection L holds `LOCK TABLES attachment READ`
 * (attachment writers wait; other tables and every reader go on) while it reads the attachment
 * rows and the files are opened, and until the dump tool's `--single-transaction` snapshot has
 * begun (its output reaches its first table). The dump tool itself takes no table lock
 * (`--skip-lock-tables`, `--skip-add-locks`), and no transaction of ours is open while it runs:
 * so it never waits behind us, unlike trac-admin hotcopy's mysqldump.
 */
export class MysqlDumpSession implements ServerDumpSession {
  private lockedAt = 0;
  /** The dump's snapshot must begin while the attachments are locked. */
  readonly dumpNeedsLock = true;
  private locked = false;
  private prepared?: { gate: DumpGate; done: Promise<unknown> };

  private constructor(
    readonly location: ServerDatabaseLocation,
    readonly facts: ServerDatabaseFacts,
    readonly storedAt: string,
    private readonly connection: Connection,
    private version: string | undefined,
  ) {}

  static async open(location: ServerDatabaseLocation, configuredDump: string | undefined): Promise<MysqlDumpSession> {
    const tool = await findTool('mysql', 'dump', configuredDump);
    const printed = await toolVersion(tool);
    const connection = await connectMysql(location, 'connecting for the backup');
    try {
      const [versionRows] = await connection.query('SELECT VERSION() AS v');
      const serverVersion = String((versionRows as Array<{ v: string }>)[0].v);
      if (/mariadb/i.test(serverVersion) === /mariadb/i.test(printed)) {
        requireToolNotOlder(tool, printed, serverVersion, 'minor', /mariadb/i.test(serverVersion) ? 'MariaDB' : 'MySQL');
      }
      const [engines] = await connection.query(
        "SELECT table_name AS t, engine AS e FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' AND engine <> 'InnoDB'",
      );
      const others = (engines as Array<{ t: string; e: string }>).map((row) => `${row.t} (${row.e})`);
      if (others.length > 0) {
        throw new TracBackupError(
          'DATABASE_UNSUPPORTED',
          `The tables ${others.join(', ')} of ${location.display} are not InnoDB, so no consistent snapshot covers them: ` +
            'convert them (ALTER TABLE name ENGINE=InnoDB) and back up again.',
          location.display,
        );
      }
      const [versionRow] = await connection.query("SELECT value FROM `system` WHERE name = 'database_version'");
      const version = (versionRow as Array<{ value: string }>)[0]?.value;
      const [countRows] = await connection.query(
        'SELECT (SELECT COUNT(*) FROM ticket) AS tickets, (SELECT COUNT(DISTINCT name) FROM wiki) AS pages',
      );
      const counts = (countRows as Array<{ tickets: number; pages: number }>)[0];
      const facts: ServerDatabaseFacts = {
        server: 'mysql',
        ...(location.host !== undefined && !location.socket && { host: location.host }),
        ...(location.port !== undefined && !location.socket && { port: location.port }),
        ...(location.socket !== undefined && { socket: location.socket }),
        database: location.database,
        tool,
        toolVersion: printed,
        serverVersion,
        format: 'sql',
        tickets: Number(counts.tickets),
        wikiPages: Number(counts.pages),
      };
      return new MysqlDumpSession(location, facts, dumpStoredAt(location), connection, version);
    } catch (error) {
      await connection.end().catch(() => undefined);
      throw serverError(error, location, 'checking the server');
    }
  }

  async readAttachmentRows(): Promise<Map<string, string>> {
    try {
      const [rows] = await this.connection.query('SELECT type, id, filename, size, time FROM attachment');
      return rowsByPath(rows as AttachmentDbRow[]);
    } catch (error) {
      throw serverError(error, this.location, 'reading the attachment rows');
    }
  }

  async freeze(): Promise<{ rows: Map<string, string>; waitMs: number; version?: string }> {
    const waitStarted = performance.now();
    try {
      await this.connection.query('LOCK TABLES attachment READ');
      this.locked = true;
      this.lockedAt = performance.now();
      const [rows] = await this.connection.query('SELECT type, id, filename, size, time FROM attachment');
      return { rows: rowsByPath(rows as AttachmentDbRow[]), waitMs: this.lockedAt - waitStarted, version: this.version };
    } catch (error) {
      throw serverError(error, this.location, 'locking the attachments (LOCK TABLES attachment READ)');
    }
  }

  /**
   * Starts the dump tool before the lock, through a DumpGate that holds its START TRANSACTION:
   * the tool's start (a process, a login: 100 ms and more on a busy machine) then costs the
   * attachment writers nothing. Where the gate cannot hold it (a TLS connection), the tool is
   * stopped and startDump() starts one after the lock instead.
   */
  async prepareDump(file: string, signal?: AbortSignal): Promise<void> {
    const gate = new DumpGate(this.location);
    const socket = await gate.listen();
    const through: ServerDatabaseLocation = { ...this.location, socket };
    const run = runTool(this.facts.tool, this.dumpArgs(through), this.location, {
      signal,
      doing: `dumping ${this.location.display}`,
      stdoutFile: file,
    });
    run.done.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const state = await Promise.race([
      gate.ready,
      run.done.then(
        () => 'ended' as const,
        () => 'ended' as const,
      ),
      new Promise<'opaque'>((resolve) => (timer = setTimeout(() => resolve('opaque'), 30000))),
    ]);
    clearTimeout(timer);
    if (state === 'held') {
      this.prepared = { gate, done: run.done.finally(() => gate.close()) };
      return;
    }
    if (run.pid) {
      try {
        process.kill(run.pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    await run.done.catch(() => undefined);
    await gate.close();
  }

  private dumpArgs(location: ServerDatabaseLocation): string[] {
    return [
      ...mysqlConnectionArgs(location),
      '--single-transaction',
      '--skip-lock-tables',
      '--skip-add-locks',
      '--no-create-db',
      '--hex-blob',
      '--default-character-set=utf8mb4',
      '--triggers',
      location.database,
    ];
  }

  startDump(file: string, signal?: AbortSignal): StartedDump {
    if (this.prepared) {
      const { gate, done } = this.prepared;
      this.prepared = undefined;
      gate.open();
      return { begun: gate.begun, done: done.then(() => undefined) };
    }
    const args = this.dumpArgs(this.location);
    let markBegun: () => void = () => undefined;
    const begun = new Promise<void>((resolve) => (markBegun = resolve));
    let tail = '';
    const run = runTool(this.facts.tool, args, this.location, {
      signal,
      doing: `dumping ${this.location.display}`,
      stdoutFile: file,
      onStdout: (chunk) => {
        const text = tail + chunk.toString('latin1');
        if (text.includes(FIRST_TABLE_MARKER)) {
          markBegun();
        }
        tail = text.slice(-FIRST_TABLE_MARKER.length);
      },
    });
    const done = run.done.then(
      () => markBegun(),
      (error: unknown) => {
        markBegun();
        throw error;
      },
    );
    return { begun, done, pid: run.pid };
  }

  async thaw(): Promise<number> {
    if (!this.locked) {
      return 0;
    }
    this.locked = false;
    const heldMs = performance.now() - this.lockedAt;
    await this.connection.query('UNLOCK TABLES').catch(() => undefined);
    return heldMs;
  }

  async close(): Promise<void> {
    if (this.prepared) {
      // Never opened (the backup stopped before the lock): the dump is stopped, never let run unlocked.
      await this.prepared.gate.close();
      this.prepared = undefined;
    }
    await this.thaw();
    await this.connection.end().catch(() => undefined);
  }
}
