import * as path from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import type * as NodeSqlite from 'node:sqlite';
import { TracBackupError, describeError, throwIfAborted } from '../shared/errors';
import { formatDuration } from '../shared/format';
import { betterSqliteLayer } from './betterSqliteLayer';
import { nodeSqliteLayer } from './nodeSqliteLayer';
import { SqliteDatabase, SqliteLayer, SqliteLayerName } from './sqliteLayer';

export type { SqliteDatabase, SqliteLayerName, SqliteStatement, SqliteValue } from './sqliteLayer';
type BetterSqliteModule = typeof BetterSqlite3;

/** Node-API version that better-sqlite3 13 is built for. */
const REQUIRED_NAPI = 10;
const REQUIRED_NODE_MAJOR = 22;

/** Forces a layer (the tests run the same suites on both): `better-sqlite3` or `node`. */
export const SQLITE_LAYER_VARIABLE = 'TRAC_BACKUP_SQLITE';

let loadedBinding: BetterSqliteModule | undefined;
let chosenLayer: SqliteLayer | undefined;

/** Platform, Node and Node-API versions, and the SQLite layer in use once one is loaded. */
export function runtimeDescription(): string {
  return (
    `platform ${process.platform}-${process.arch}, Node ${process.versions.node}, ` +
    `N-API ${process.versions.napi ?? 'unknown'}` +
    (process.versions.electron ? `, Electron ${process.versions.electron}` : '') +
    (chosenLayer ? `, SQLite through ${chosenLayer.version}` : '')
  );
}

/**
 * Why better-sqlite3 13 cannot load on this runtime, or undefined when it can. On a Node older
 * than 22 its binding crashes the process at require (no try/catch can catch that), so this
 * is checked before requiring it.
 */
export function runtimeProblem(versions: NodeJS.ProcessVersions = process.versions): string | undefined {
  const nodeMajor = Number(versions.node.split('.')[0]);
  const napi = Number(versions.napi ?? 0);
  if (nodeMajor >= REQUIRED_NODE_MAJOR && napi >= REQUIRED_NAPI) {
    return undefined;
  }
  return (
    `The SQLite binding needs Node ${REQUIRED_NODE_MAJOR}+ with N-API ${REQUIRED_NAPI} (VS Code 1.101 or newer); ` +
    `this is Node ${versions.node} with N-API ${versions.napi ?? 'unknown'}. ` +
    'Update VS Code (or run the CLI with Node 22) to read and back up databases.'
  );
}

/**
 * better-sqlite3's module, loaded on first use, with a clear error where it cannot load. The tool
 * itself opens databases only through openDatabase (whichever layer is in use); the tests use this
 * to make and change databases the way Trac's own writers would.
 */
export function loadSqlite(): BetterSqliteModule {
  if (loadedBinding) {
    return loadedBinding;
  }
  const problem = runtimeProblem();
  if (problem) {
    throw new TracBackupError('SQLITE_UNAVAILABLE', problem);
  }
  // Backups are opened by URI filename (file:…?immutable=1): better-sqlite3 turns URI filenames
  // on for the whole process when this is set as its binding loads (it reads it once).
  process.env.SQLITE_USE_URI = '1';
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy on purpose: required only once runtimeProblem() passed (on Node < 22 the binding crashes the process at require)
    loadedBinding = require('better-sqlite3') as BetterSqliteModule;
  } catch (error) {
    throw new TracBackupError(
      'SQLITE_UNAVAILABLE',
      `The SQLite binding (better-sqlite3) could not be loaded on ${runtimeDescription()}: ` +
        `${(error as Error).message}. Reinstall the extension; if it persists, report this platform.`,
      undefined,
      { cause: error },
    );
  }
  return loadedBinding;
}

/** Node's built-in node:sqlite, without the "experimental feature" warning on stderr that Node 22 prints at its first require. */
function loadNodeSqlite(): typeof NodeSqlite {
  const emitWarning = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  const original = Object.getOwnPropertyDescriptor(process, 'emitWarning');
  process.emitWarning = (warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === 'string' ? warning : warning.message;
    if (!/SQLite is an experimental feature/.test(text)) {
      emitWarning(warning, ...rest);
    }
  };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy on purpose: only where better-sqlite3 cannot load (or the layer is forced)
    return require('node:sqlite') as typeof NodeSqlite;
  } finally {
    if (original) {
      Object.defineProperty(process, 'emitWarning', original);
    }
  }
}

/** node:sqlite has backup() from Node 22.16 (no flag needed from 22.13). */
const NODE_SQLITE_MINIMUM = [22, 16];

function tryLayer(name: SqliteLayerName): SqliteLayer {
  if (name === 'better-sqlite3') {
    return betterSqliteLayer(loadSqlite());
  }
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < NODE_SQLITE_MINIMUM[0] || (major === NODE_SQLITE_MINIMUM[0] && minor < NODE_SQLITE_MINIMUM[1])) {
    throw new Error(
      `Node's built-in node:sqlite needs Node ${NODE_SQLITE_MINIMUM.join('.')} or newer; this is Node ${process.versions.node}`,
    );
  }
  return nodeSqliteLayer(loadNodeSqlite());
}

/** The layer TRAC_BACKUP_SQLITE forces, if any (`node`, `node:sqlite` or `better-sqlite3`). */
export function forcedLayer(value: string | undefined = process.env[SQLITE_LAYER_VARIABLE]): SqliteLayerName | undefined {
  const wanted = value?.trim().toLowerCase();
  if (!wanted) {
    return undefined;
  }
  if (wanted === 'node' || wanted === 'node:sqlite') {
    return 'node:sqlite';
  }
  if (wanted === 'better-sqlite3') {
    return 'better-sqlite3';
  }
  throw new TracBackupError(
    'SQLITE_UNAVAILABLE',
    `${SQLITE_LAYER_VARIABLE}=${value} names no SQLite layer: use better-sqlite3 or node, or leave it unset.`,
  );
}

/**
 * The SQLite layer of this process, chosen on first use: better-sqlite3 where its native module
 * loads (Node 22 with N-API 10 and, on Linux, a glibc of 2.33 or newer); otherwise Node's
 * built-in node:sqlite; a clear error (SQLITE_UNAVAILABLE) only where neither loads. `prefer`
 * (the worker thread passes its parent's choice) or TRAC_BACKUP_SQLITE forces one.
 */
export function sqliteLayer(prefer?: SqliteLayerName): SqliteLayer {
  if (chosenLayer && (!prefer || prefer === chosenLayer.name)) {
    return chosenLayer;
  }
  const forced = prefer ?? forcedLayer();
  if (forced) {
    try {
      chosenLayer = tryLayer(forced);
    } catch (error) {
      throw unavailable([`${forced}: ${describeError(error)}`], error);
    }
    return chosenLayer;
  }
  const failures: string[] = [];
  for (const name of ['better-sqlite3', 'node:sqlite'] as const) {
    try {
      chosenLayer = tryLayer(name);
      return chosenLayer;
    } catch (error) {
      failures.push(`${name}: ${describeError(error)}`);
    }
  }
  throw unavailable(failures);
}

function unavailable(failures: string[], cause?: unknown): TracBackupError {
  const glibcTooOld = failures.some((failure) => failure.startsWith('better-sqlite3:') && /GLIBC(XX)?_\d/.test(failure));
  return new TracBackupError(
    'SQLITE_UNAVAILABLE',
    `No SQLite layer loads on ${runtimeDescription()} (${failures.join('; ')}). ${whatToDoWithoutSqlite(process.versions, glibcTooOld)}`,
    undefined,
    { cause },
  );
}

/**
 * What to do where neither layer loads, by where this runs. In desktop VS Code the extension
 * host is Electron's Node: VS Code 1.101 has Node 22.15.1, whose node:sqlite has no backup(), so
 * there only better-sqlite3 works (reinstalling the extension puts its binary back) until an
 * update brings Node 22.16 or newer; Electron 37.2.0's Node was built without node:sqlite at all.
 * Elsewhere (the CLI, a remote extension host) it is the Node that runs it. Where better-sqlite3
 * failed for an old glibc (`glibcTooOld`), reinstalling does not help: only node:sqlite can.
 */
export function whatToDoWithoutSqlite(versions: NodeJS.ProcessVersions = process.versions, glibcTooOld = false): string {
  const [major, minor] = versions.node.split('.').map(Number);
  const nodeSqliteCan = major > NODE_SQLITE_MINIMUM[0] || (major === NODE_SQLITE_MINIMUM[0] && minor >= NODE_SQLITE_MINIMUM[1]);
  const minimum = NODE_SQLITE_MINIMUM.join('.');
  const reinstall = glibcTooOld
    ? `better-sqlite3's binary needs glibc 2.34, which this Linux does not have, so only Node's node:sqlite can read databases here`
    : 'Reinstall the extension (its better-sqlite3 binary did not load)';
  if (versions.electron) {
    return nodeSqliteCan
      ? `${reinstall}, or update VS Code (Help > About names its Node and Electron); if it persists, report this platform.`
      : `${reinstall}: update VS Code to one whose Node is ${minimum} or newer (this one's is ${versions.node}: Help > About); ` +
          `the CLI runs with any Node ${minimum} or newer.`;
  }
  return nodeSqliteCan
    ? `${glibcTooOld ? reinstall : 'Reinstall the extension or the CLI (its better-sqlite3 binary did not load)'}, or run it with a Node that has node:sqlite ` +
        `(node -e "require('node:sqlite')" says); if it persists, report this platform.`
    : `Run with Node ${minimum} or newer (this is Node ${versions.node}); in VS Code use 1.101 or newer; if it persists, report this platform.`;
}

/** Loads the SQLite layer (see sqliteLayer) and describes the runtime with it: what `trac-backup --runtime` prints. */
export function sqliteRuntime(): string {
  sqliteLayer();
  return runtimeDescription();
}

/** The name of the layer in use, once one is loaded (the tree and the log say it). */
export function sqliteLayerInUse(): SqliteLayerName | undefined {
  return chosenLayer?.name;
}

const SIDE_FILE_SUFFIXES = ['-journal', '-wal', '-shm', '-stmtjrnl'];

/** The files SQLite keeps beside a database: never part of a backup. */
export function sqliteSideFiles(file: string): string[] {
  return SIDE_FILE_SUFFIXES.map((suffix) => file + suffix);
}

/** How long a backup waits for another process's write lock before giving up. */
export const BUSY_TIMEOUT_MS = 10_000;

/**
 * How a connection opens an existing database file:
 * - read-only: never writes (a live database: reading the version, the attachment rows);
 * - read-write: may take locks and write (the backup's write lock, a copy it owns);
 * - immutable: a file nothing writes (a backup): no locks, no -wal or -shm made or read.
 */
export type DatabaseAccess = 'read-only' | 'read-write' | 'immutable';

/**
 * The one way this tool opens an SQLite database. Its busy timeout is 0: SQLite's own wait for a
 * lock sleeps inside the call and freezes the whole process (an extension host, a CLI that must
 * answer Ctrl-C) meanwhile; wait with retryWhileBusy instead.
 */
export function openDatabase(file: string, access: DatabaseAccess): SqliteDatabase {
  const layer = sqliteLayer();
  switch (access) {
    case 'read-only':
      return layer.open(file, { readonly: true, uri: false });
    case 'read-write':
      return layer.open(file, { readonly: false, uri: false });
    case 'immutable':
      return layer.open(sqliteFileUri(file, { mode: 'ro', immutable: '1' }), { readonly: true, uri: true });
  }
}

/** Opens an existing database without ever writing to it (see openDatabase). */
export function openReadOnly(file: string): SqliteDatabase {
  return openDatabase(file, 'read-only');
}

/** Runs fn with a read-only connection that is always closed afterwards (no waiting: see openReadOnly). */
export function withReadOnlyDatabase<T>(file: string, fn: (db: SqliteDatabase) => T): T {
  const db = openReadOnly(file);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** True for SQLite's "another connection holds the lock" (SQLITE_BUSY, SQLITE_LOCKED and their variants). */
export function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return /^SQLITE_(BUSY|LOCKED)/.test(typeof code === 'string' ? code : '');
}

/** A database that stayed locked by another process for as long as the caller would wait. */
export class DatabaseBusyError extends TracBackupError {
  constructor(
    readonly file: string,
    readonly waitedMs: number,
    cause: unknown,
  ) {
    super(
      'DATABASE_LOCK_FAILED',
      `${file} stayed locked by another process: waited ${formatDuration(waitedMs)} for it. Try again when Trac is less busy.`,
      file,
      { cause },
    );
  }
}

export interface BusyRetryOptions {
  /** Gives up (DatabaseBusyError) once the database has been locked this long, in ms. */
  timeoutMs: number;
  /** Checked between attempts: a cancel ends the wait within a few milliseconds (CancelledError). */
  signal?: AbortSignal;
  /** Named in the CancelledError ("The backup"). */
  what?: string;
  /** Awaited before each attempt (e.g. until no backup in this process holds the lock). */
  beforeAttempt?: () => Promise<void>;
}

/**
 * Runs `attempt` (synchronous SQLite work on connections with busy timeout 0) until it does not
 * fail with SQLITE_BUSY or SQLITE_LOCKED: between attempts it sleeps a few milliseconds on the
 * event loop, not in SQLite, so the process goes on meanwhile and a cancel is seen at once. The
 * wait is bounded by `timeoutMs`, and DatabaseBusyError says how long it really lasted.
 */
export async function retryWhileBusy<T>(file: string, attempt: () => T, options: BusyRetryOptions): Promise<T> {
  const started = performance.now();
  for (let tries = 0; ; tries++) {
    throwIfAborted(options.signal, options.what);
    await options.beforeAttempt?.();
    try {
      return attempt();
    } catch (error) {
      if (!isBusy(error)) {
        throw error;
      }
      const waited = performance.now() - started;
      if (waited >= options.timeoutMs) {
        throw new DatabaseBusyError(file, waited, error);
      }
      await pause(Math.min(1 + tries, 10, options.timeoutMs - waited), options.signal);
    }
  }
}

/** A sleep that a signal ends early. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(ms, 0));
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * The URI filename of a file, with query parameters (`immutable=1`, `mode=ro`): `%`, `?` and `#`
 * escaped, Windows drive paths as file:///C:/…
 */
export function sqliteFileUri(file: string, parameters: Record<string, string>): string {
  const slashed = path.resolve(file).split(path.sep).join('/');
  const rooted = slashed.startsWith('/') ? slashed : `/${slashed}`;
  const escaped = rooted.replace(/[%?#]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);
  return `file://${escaped}?${new URLSearchParams(parameters).toString()}`;
}

/**
 * Opens a database file that nothing writes (a backup, a copy of one) as SQLite's immutable
 * file: read-only, no locks, no -wal or -shm made or read. So it opens on read-only media and
 * for a user who cannot write its folder, a WAL-mode database too, and leaves no trace.
 */
export function openImmutable(file: string): SqliteDatabase {
  return openDatabase(file, 'immutable');
}
