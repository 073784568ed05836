import { createHash, randomBytes } from 'node:crypto';
import { existsSync, promises as fs, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TracBackupError, errnoCode } from '../shared/errors';
import { workOwnerRunning } from './workOwner';

/**
 * What a process is doing with an environment, for other processes (the CLI, every VS Code
 * window) to know about it:
 * - backup: a hot backup is reading it (several may run at once);
 * - restore: a restore is replacing it (nothing else may run meanwhile);
 * - scheduled: a window's schedule is backing it up (one window at a time; the others skip it).
 */
export type LeaseKind = 'backup' | 'restore' | 'scheduled';

export interface LeaseHolder {
  kind: LeaseKind;
  /** The environment, absolute, as the holder named it. */
  environment: string;
  pid: number;
  host: string;
  /** ISO 8601. */
  startedAt: string;
  /** Who holds it, as a message says it: "run by the trac-backup command", "in another VS Code window (…)". */
  holder: string;
}

export interface Lease {
  readonly file: string;
  release(): Promise<void>;
}

/** Who this process is, in the messages other processes show (set by the extension at activation). */
let holderName = 'run by the trac-backup command';

export function setLeaseHolderName(name: string): void {
  holderName = name;
}

/** Lease files this process holds now: its own pid counts as alive only for those. */
const heldHere = new Set<string>();

/**
 * Where leases live: one folder per machine that every user and process can write, so that a
 * restore run as root sees a backup run by the web server's user. `/run/lock` is for exactly this
 * on Linux (and no service's private /tmp hides it); elsewhere the shared temporary folder.
 * TRAC_BACKUP_LEASE_DIR overrides it (tests).
 */
export function leaseFolder(): string {
  const override = process.env.TRAC_BACKUP_LEASE_DIR;
  if (override) {
    return path.resolve(override);
  }
  if (process.platform === 'linux' && isDirectory('/run/lock')) {
    return '/run/lock/trac-backup';
  }
  if (process.platform === 'win32') {
    return path.join(process.env.ProgramData ?? os.tmpdir(), 'trac-backup', 'leases');
  }
  // os.tmpdir() is per user on macOS; /tmp is the machine's.
  return path.join(process.platform === 'darwin' ? '/tmp' : os.tmpdir(), 'trac-backup-leases');
}

/**
 * Takes a lease on the environment, or refuses with ENVIRONMENT_BUSY naming who holds the one
 * in the way: a restore refuses while any backup or restore runs; a backup refuses while a
 * restore runs; a scheduled backup refuses while another process's schedule backs it up. Leases
 * of processes that are gone (killed) are ignored and cleared. Each side writes its lease, then
 * looks for the others: of two that start at once, at least one sees the other (a backup and a
 * restore may then both refuse, which is safe); schedules take a lock besides.
 */
export async function acquireLease(environment: string, kind: LeaseKind): Promise<Lease> {
  const folder = await ensureLeaseFolder();
  const key = await environmentKey(environment);
  const holder: LeaseHolder = {
    kind,
    environment: path.resolve(environment),
    pid: process.pid,
    host: os.hostname(),
    startedAt: new Date().toISOString(),
    holder: holderName,
  };
  const file = path.join(folder, `${key}.${kind}-${process.pid}-${randomBytes(4).toString('hex')}.json`);
  await fs.writeFile(file, `${JSON.stringify(holder)}\n`, { flag: 'wx', mode: 0o644 });
  heldHere.add(file);
  const lock = kind === 'scheduled' ? path.join(folder, `${key}.scheduled.lock`) : undefined;
  let locked = false;
  const lease: Lease = {
    file,
    release: async () => {
      if (lock && locked && (await sameFile(lock, file))) {
        await fs.rm(lock, { force: true });
      }
      heldHere.delete(file);
      await fs.rm(file, { force: true });
    },
  };
  try {
    if (lock) {
      await takeLock(lock, file, holder);
      locked = true;
    }
    const blocker = (await liveLeases(folder, key)).find((other) => other.file !== file && conflicts(kind, other.holder.kind));
    if (blocker) {
      throw busyError(holder.environment, kind, blocker.holder);
    }
  } catch (error) {
    await lease.release();
    throw error;
  }
  return lease;
}

/**
 * One schedule at a time: the lock is a hard link to the holder's lease, made only where none is
 * (link fails when the name exists). One left by a process that is gone is moved aside first, so
 * that of two processes that found it stale only one removes it.
 */
async function takeLock(lock: string, file: string, holder: LeaseHolder): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await fs.link(file, lock);
      return;
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST' || attempt >= 3) {
        throw error;
      }
    }
    const other = await readLease(lock);
    if (other && (await isAlive(lock, other))) {
      throw busyError(holder.environment, holder.kind, other);
    }
    const stale = `${lock}.stale-${randomBytes(4).toString('hex')}`;
    if (
      await fs.rename(lock, stale).then(
        () => true,
        () => false,
      )
    ) {
      const moved = await readLease(stale);
      if (moved && (await isAlive(stale, moved))) {
        // Another process took it between the look and the move: give it back.
        await fs.link(stale, lock).catch(() => undefined);
        await fs.rm(stale, { force: true });
        throw busyError(holder.environment, holder.kind, moved);
      }
      await fs.rm(stale, { force: true });
    }
  }
}

async function sameFile(a: string, b: string): Promise<boolean> {
  const [first, second] = await Promise.all([fs.stat(a).catch(() => undefined), fs.stat(b).catch(() => undefined)]);
  return !!first && !!second && first.ino === second.ino && first.dev === second.dev;
}

/** Runs fn while holding a lease on the environment; releases it however fn ends. */
export async function withLease<T>(environment: string, kind: LeaseKind, fn: () => Promise<T>): Promise<T> {
  const lease = await acquireLease(environment, kind);
  try {
    return await fn();
  } finally {
    await lease.release();
  }
}

/** The leases held on the environment now by processes that are alive (this one included). */
export async function activeLeases(environment: string): Promise<LeaseHolder[]> {
  const folder = leaseFolder();
  return (await liveLeases(folder, await environmentKey(environment))).map((found) => found.holder);
}

/** True when the error is a refusal because another process holds a lease in the way. */
export function isEnvironmentBusy(error: unknown): boolean {
  return error instanceof TracBackupError && error.code === 'ENVIRONMENT_BUSY';
}

/** How a holder reads in a sentence: "a backup in another VS Code window (…) (process 123, since 18:20:01)". */
export function describeHolder(holder: LeaseHolder): string {
  const what = holder.kind === 'restore' ? 'a restore' : holder.kind === 'scheduled' ? 'a scheduled backup' : 'a backup';
  const where = holder.pid === process.pid ? 'in this window' : holder.holder;
  return `${what} ${where} (process ${holder.pid}, since ${new Date(holder.startedAt).toLocaleTimeString()})`;
}

function conflicts(wanted: LeaseKind, held: LeaseKind): boolean {
  switch (wanted) {
    case 'restore':
      return true;
    case 'backup':
      return held === 'restore';
    case 'scheduled':
      return held === 'restore'; // another schedule holds the lock (takeLock)
  }
}

function busyError(environment: string, kind: LeaseKind, holder: LeaseHolder): TracBackupError {
  const doing = kind === 'restore' ? 'restore' : 'back up';
  return new TracBackupError(
    'ENVIRONMENT_BUSY',
    `Can't ${doing} ${environment} now: ${describeHolder(holder)} is working on it. Wait for it to finish, then try again.`,
    environment,
  );
}

/** The environment's identity in lease names: its real path, hashed (names stay short and safe). */
async function environmentKey(environment: string): Promise<string> {
  const resolved = path.resolve(environment);
  const real = await fs.realpath(resolved).catch(() => resolved);
  const normalized = process.platform === 'win32' || process.platform === 'darwin' ? real.toLowerCase() : real;
  return createHash('sha256').update(normalized).digest('hex').slice(0, 24);
}

async function ensureLeaseFolder(): Promise<string> {
  const folder = leaseFolder();
  try {
    await fs.mkdir(folder, { recursive: true });
    // Every user's processes write here, none may remove another's lease (sticky, like /tmp).
    const stats = await fs.stat(folder);
    if (process.platform !== 'win32' && (stats.mode & 0o1777) !== 0o1777 && stats.uid === (process.getuid?.() ?? -1)) {
      await fs.chmod(folder, 0o1777);
    }
  } catch (error) {
    throw new TracBackupError(
      'DESTINATION_UNWRITABLE',
      `Can't write the lease folder ${folder} (${errnoCode(error) ?? String(error)}), which tells other windows and processes what runs: ` +
        'make it writable for every user (chmod 1777), or set TRAC_BACKUP_LEASE_DIR to a folder that is.',
      folder,
      { cause: error },
    );
  }
  return folder;
}

interface FoundLease {
  file: string;
  holder: LeaseHolder;
}

async function liveLeases(folder: string, key: string): Promise<FoundLease[]> {
  const names = await fs.readdir(folder).catch(() => [] as string[]);
  const found: FoundLease[] = [];
  for (const name of names) {
    if (!name.startsWith(`${key}.`) || !name.endsWith('.json')) {
      continue;
    }
    const file = path.join(folder, name);
    const holder = await readLease(file);
    if (!holder) {
      continue;
    }
    if (await isAlive(file, holder)) {
      found.push({ file, holder });
    } else {
      // A killed holder's lease: gone for good (the sticky folder may keep another user's).
      await fs.rm(file, { force: true }).catch(() => undefined);
    }
  }
  return found;
}

async function readLease(file: string): Promise<LeaseHolder | undefined> {
  try {
    const holder = JSON.parse(await fs.readFile(file, 'utf8')) as LeaseHolder;
    return typeof holder.pid === 'number' && typeof holder.kind === 'string' ? holder : undefined;
  } catch {
    return undefined; // vanished, or being written: the next look sees it
  }
}

async function isAlive(file: string, holder: LeaseHolder): Promise<boolean> {
  if (holder.host !== os.hostname()) {
    return true; // another machine's process (a shared file system): it cannot be looked at from here
  }
  const stats = await fs.stat(file).catch(() => undefined);
  if (!stats) {
    return false;
  }
  // This process's own: alive while it holds it (a lock is a link to a lease it holds).
  const heldByUs = holder.pid === process.pid && [...heldHere].some((held) => held === file || sameInodeSync(held, stats));
  return workOwnerRunning(holder.pid, Date.parse(holder.startedAt), heldByUs);
}

function sameInodeSync(file: string, stats: { ino: number; dev: number }): boolean {
  try {
    const other = statSync(file);
    return other.ino === stats.ino && other.dev === stats.dev;
  } catch {
    return false;
  }
}

function isDirectory(dir: string): boolean {
  try {
    return existsSync(dir) && statSync(dir).isDirectory();
  } catch {
    return false;
  }
}
