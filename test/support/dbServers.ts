import { ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { chownSync, chmodSync, mkdirSync, mkdtempSync, promises as fs, rmSync, statSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { FIXTURES_DIR } from './fixtures';

const run = promisify(execFile);

/**
 * Throwaway PostgreSQL 15 and MariaDB 10.11 servers for one test file (see
 * ../shared/docs/real-databases.md): in a temporary folder, on free ports, started as the
 * postgres / mysql users, fsync off; stopped by pid in `stop()` and, however the test process
 * ends, by a process 'exit' handler. Never the system's own service.
 */

const PGBIN = '/usr/lib/postgresql/15/bin';
/** The fixtures' environments name these roles and databases (conf/trac.ini). */
export const FIXTURE_PASSWORD = 'trac';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

function userIds(user: string): { uid: number; gid: number } {
  return {
    uid: Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim()),
    gid: Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim()),
  };
}

const stopAtExit = new Set<() => void>();
process.on('exit', () => {
  for (const stop of stopAtExit) {
    stop();
  }
});

/**
 * Where a server's folder goes: the temporary folder, when the postgres and mysql users can reach
 * it; else the system's (code-server's extension host gets a TMPDIR inside a folder of mode 0700).
 */
function serverTempBase(): string {
  const base = os.tmpdir();
  for (let dir = base; ; dir = path.dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) {
      return '/tmp';
    }
    if (path.dirname(dir) === dir) {
      return base;
    }
  }
}

function randomPassword(): string {
  return `pw-${Math.random().toString(36).slice(2)}-${Date.now().toString(36)}`;
}

export interface PostgresServer {
  kind: 'postgres';
  dir: string;
  port: number;
  socketDir: string;
  adminPassword: string;
  /** Runs SQL as the admin (a superuser) on `database`; returns psql's unaligned, tuples-only output. */
  admin(sql: string, database?: string): Promise<string>;
  /** A new role and database, `owner` with `password`, loaded with the fixture's dump; returns the database name. */
  createFixtureDatabase(database: string, options?: { role?: string; password?: string; load?: boolean; schema?: string }): Promise<string>;
  /** A Trac URL for `database` as `role`. */
  url(database: string, options?: { role?: string; password?: string; socket?: boolean; schema?: string }): string;
  stop(): Promise<void>;
}

export async function startPostgres(): Promise<PostgresServer> {
  const dir = mkdtempSync(path.join(serverTempBase(), 'trac-backup-pg-'));
  chmodSync(dir, 0o755);
  const pgDir = path.join(dir, 'pg');
  mkdirSync(pgDir);
  const adminPassword = randomPassword();
  writeFileSync(path.join(pgDir, 'pw'), `${adminPassword}\n`, { mode: 0o600 });
  const { uid, gid } = userIds('postgres');
  chownSync(pgDir, uid, gid);
  chownSync(path.join(pgDir, 'pw'), uid, gid);
  const port = await freePort();
  const data = path.join(pgDir, 'data');
  await run('runuser', [
    '-u',
    'postgres',
    '--',
    `${PGBIN}/initdb`,
    '-D',
    data,
    '-U',
    'admin',
    '--auth=scram-sha-256',
    `--pwfile=${path.join(pgDir, 'pw')}`,
    '-E',
    'UTF8',
    '--locale=C.UTF-8',
    '-N',
    '--no-instructions',
  ]);
  const ctl = (args: string[]) => ['-u', 'postgres', '--', `${PGBIN}/pg_ctl`, '-D', data, ...args];
  const stopSync = () => {
    try {
      execFileSync('runuser', ctl(['-m', 'immediate', '-w', 'stop']), { stdio: 'ignore' });
    } catch {
      // not running
    }
    rmSync(dir, { recursive: true, force: true });
  };
  stopAtExit.add(stopSync);
  await run(
    'runuser',
    ctl([
      '-l',
      path.join(pgDir, 'server.log'),
      '-w',
      '-t',
      '30',
      '-o',
      `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${pgDir} -c fsync=off -c full_page_writes=off ` +
        '-c synchronous_commit=off -c shared_buffers=32MB -c max_connections=60',
      'start',
    ]),
  );
  const admin = async (sql: string, database = 'postgres') =>
    (
      await run(
        'psql',
        ['-h', '127.0.0.1', '-p', String(port), '-U', 'admin', '-d', database, '-qAt', '-v', 'ON_ERROR_STOP=1', '-c', sql],
        {
          env: { ...process.env, PGPASSWORD: adminPassword },
        },
      )
    ).stdout.trim();
  const server: PostgresServer = {
    kind: 'postgres',
    dir,
    port,
    socketDir: pgDir,
    adminPassword,
    admin,
    async createFixtureDatabase(database, options = {}) {
      const role = options.role ?? 'trac';
      const password = options.password ?? FIXTURE_PASSWORD;
      const exists = await admin(`SELECT 1 FROM pg_roles WHERE rolname = '${role}'`);
      if (!exists) {
        await admin(`CREATE ROLE "${role}" LOGIN PASSWORD '${password}'`);
      }
      await admin(`CREATE DATABASE "${database}" OWNER "${role}" ENCODING 'UTF8' TEMPLATE template0`);
      if (options.load !== false) {
        const sql = await fs.readFile(path.join(FIXTURES_DIR, 'trac-1.6-postgres.sql'), 'utf8');
        const psqlArgs = [
          '-h',
          '127.0.0.1',
          '-p',
          String(port),
          '-U',
          role,
          '-d',
          database,
          '-q',
          '-o',
          '/dev/null',
          '-v',
          'ON_ERROR_STOP=1',
        ];
        await pipeInto('psql', [...psqlArgs, '--single-transaction'], sql, { PGPASSWORD: password });
        if (options.schema) {
          // Trac's ?schema=NAME keeps its tables in that schema: move the fixture's there.
          await pipeInto('psql', psqlArgs, `ALTER SCHEMA public RENAME TO "${options.schema}"; CREATE SCHEMA public;`, {
            PGPASSWORD: password,
          });
        }
      }
      return database;
    },
    url(database, options = {}) {
      const role = options.role ?? 'trac';
      const password = encodeURIComponent(options.password ?? FIXTURE_PASSWORD);
      const query = [options.socket ? `host=${pgDir}` : '', options.schema ? `schema=${options.schema}` : ''].filter(Boolean).join('&');
      const host = options.socket ? '' : '127.0.0.1';
      return `postgres://${role}:${password}@${host}:${port}/${database}${query ? `?${query}` : ''}`;
    },
    async stop() {
      stopAtExit.delete(stopSync);
      await run('runuser', ctl(['-m', 'fast', '-w', 'stop'])).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

export interface MariadbServer {
  kind: 'mysql';
  dir: string;
  port: number;
  socket: string;
  rootPassword: string;
  pid: number;
  /** Runs SQL as root; returns the tab-separated rows, no headers. */
  root(sql: string, database?: string): Promise<string>;
  createFixtureDatabase(database: string, options?: { user?: string; password?: string; load?: boolean }): Promise<string>;
  url(database: string, options?: { user?: string; password?: string; socket?: boolean }): string;
  stop(): Promise<void>;
}

export async function startMariadb(): Promise<MariadbServer> {
  const dir = mkdtempSync(path.join(serverTempBase(), 'trac-backup-my-'));
  chmodSync(dir, 0o755);
  const myDir = path.join(dir, 'my');
  mkdirSync(myDir);
  const { uid, gid } = userIds('mysql');
  chownSync(myDir, uid, gid);
  const port = await freePort();
  const data = path.join(myDir, 'data');
  const socket = path.join(myDir, 'sock');
  await run('mariadb-install-db', [
    '--no-defaults',
    '--user=mysql',
    `--datadir=${data}`,
    '--auth-root-authentication-method=normal',
    '--skip-test-db',
    '--skip-name-resolve',
    '--innodb-log-file-size=8M',
  ]);
  const child: ChildProcess = spawn(
    'mariadbd',
    [
      '--no-defaults',
      '--user=mysql',
      `--datadir=${data}`,
      `--socket=${socket}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--pid-file=${path.join(myDir, 'pid')}`,
      `--log-error=${path.join(myDir, 'error.log')}`,
      '--skip-name-resolve',
      '--innodb-buffer-pool-size=32M',
      '--innodb-log-file-size=8M',
      '--innodb-flush-log-at-trx-commit=0',
      '--innodb-doublewrite=0',
      '--character-set-server=utf8mb4',
      '--collation-server=utf8mb4_bin',
    ],
    { stdio: 'ignore' },
  );
  const pid = child.pid!;
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const stopSync = () => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
    rmSync(dir, { recursive: true, force: true });
  };
  stopAtExit.add(stopSync);
  const rootPassword = randomPassword();
  for (let tries = 0; ; tries++) {
    try {
      await run('mariadb-admin', ['--no-defaults', `--socket=${socket}`, '-uroot', 'ping']);
      break;
    } catch (error) {
      if (tries > 600) {
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  await pipeInto(
    'mariadb',
    ['--no-defaults', `--socket=${socket}`, '-uroot'],
    `ALTER USER root@localhost IDENTIFIED BY '${rootPassword}';`,
  );
  const rootCnf = path.join(myDir, 'root.cnf');
  writeFileSync(rootCnf, `[client]\nuser=root\npassword=${rootPassword}\nsocket=${socket}\n`, { mode: 0o600 });
  const root = async (sql: string, database?: string) =>
    (await pipeInto('mariadb', [`--defaults-extra-file=${rootCnf}`, '-N', '-B', ...(database ? [database] : [])], sql)).trim();
  return {
    kind: 'mysql',
    dir,
    port,
    socket,
    rootPassword,
    pid,
    root,
    async createFixtureDatabase(database, options = {}) {
      const user = options.user ?? 'trac';
      const password = options.password ?? FIXTURE_PASSWORD;
      await root(
        `CREATE USER IF NOT EXISTS '${user}'@'127.0.0.1' IDENTIFIED BY '${password}';` +
          `CREATE USER IF NOT EXISTS '${user}'@'localhost' IDENTIFIED BY '${password}';` +
          `CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;` +
          `GRANT ALL PRIVILEGES ON \`${database}\`.* TO '${user}'@'127.0.0.1';` +
          `GRANT ALL PRIVILEGES ON \`${database}\`.* TO '${user}'@'localhost';`,
      );
      if (options.load !== false) {
        const sql = await fs.readFile(path.join(FIXTURES_DIR, 'trac-1.6-mysql.sql'), 'utf8');
        await pipeInto('mariadb', ['--no-defaults', '-h', '127.0.0.1', '-P', String(port), `-u${user}`, database], sql, {
          MYSQL_PWD: password,
        });
      }
      return database;
    },
    url(database, options = {}) {
      const user = options.user ?? 'trac';
      const password = encodeURIComponent(options.password ?? FIXTURE_PASSWORD);
      return options.socket
        ? `mysql://${user}:${password}@localhost/${database}?unix_socket=${socket}`
        : `mysql://${user}:${password}@127.0.0.1:${port}/${database}`;
    },
    async stop() {
      stopAtExit.delete(stopSync);
      try {
        await run('mariadb-admin', [`--defaults-extra-file=${rootCnf}`, 'shutdown']);
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 20000))]);
      } finally {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // stopped
        }
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** Runs a program with `input` on its stdin; rejects with its stderr when it fails. */
export function pipeInto(program: string, args: string[], input: string, env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (out += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (err += text));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${program} exited ${code}: ${err.trim()}`))));
    child.stdin.end(input);
  });
}

/** Copies a server fixture environment to `parent/as`, pointing its `[trac] database` at `url`. */
export async function copyServerFixture(kind: 'postgres' | 'mysql', parent: string, as: string, url: string): Promise<string> {
  const target = path.join(parent, as);
  await fs.cp(path.join(FIXTURES_DIR, `trac-1.6-${kind}`), target, { recursive: true, preserveTimestamps: true });
  const ini = path.join(target, 'conf', 'trac.ini');
  const text = await fs.readFile(ini, 'utf8');
  await fs.writeFile(ini, text.replace(/^database = .*$/m, `database = ${url}`), { mode: 0o600 });
  return target;
}
