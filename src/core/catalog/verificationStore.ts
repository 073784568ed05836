import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TracBackupError, errnoCode } from '../shared/errors';
import { readManifest } from './manifest';
import { workOwnerRunning } from '../work/workOwner';

/**
 * What the last verification of a backup found. A backup folder is never written (an extra file
 * would fail its own verification), so results live in a store of the user's: the CLI and the
 * extension share it, and a backup verified by either shows as verified in both.
 */
export interface VerificationRecord {
  /** The backup's real path (links resolved): the key. */
  backup: string;
  /**
   * The backup's createdAt (its metadata's; null for a copy without metadata): a backup deleted
   * and made again under the same name is another backup, not a verified one.
   */
  createdAt: string | null;
  ok: boolean;
  /** How many problems, and the first few ("path: problem"). */
  problems: number;
  summary: string[];
  /**
   * When the verification began (ISO 8601): every file it passed was as it found it then, so a
   * file changed after this (its ctime) must be checked again before it is trusted.
   */
  verifiedAt: string;
}

interface StoreFile {
  format: 1;
  backups: Record<string, Omit<VerificationRecord, 'backup'>>;
}

const SUMMARY_LINES = 5;
const STORE_NAME = 'verifications.json';

/**
 * The store's file: `$TRAC_BACKUP_STATE_DIR/verifications.json` when that is set (tests set it),
 * else `<state folder>/trac-backup/verifications.json`, the state folder being $XDG_STATE_HOME
 * or ~/.local/state on Linux and the BSDs, ~/Library/Application Support on macOS, and
 * %LOCALAPPDATA% on Windows.
 */
export function verificationStoreFile(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home = os.homedir(),
): string {
  if (env.TRAC_BACKUP_STATE_DIR) {
    return path.join(path.resolve(env.TRAC_BACKUP_STATE_DIR), STORE_NAME);
  }
  const state =
    platform === 'win32'
      ? (env.LOCALAPPDATA ?? path.join(home, 'AppData', 'Local'))
      : platform === 'darwin'
        ? path.join(home, 'Library', 'Application Support')
        : env.XDG_STATE_HOME && path.isAbsolute(env.XDG_STATE_HOME)
          ? env.XDG_STATE_HOME
          : path.join(home, '.local', 'state');
  return path.join(state, 'trac-backup', STORE_NAME);
}

/** Every record in the store (an empty list when there is no store yet, or it cannot be read). */
export async function readVerifications(file = verificationStoreFile()): Promise<VerificationRecord[]> {
  const store = await readStore(file);
  return Object.entries(store.backups).map(([backup, record]) => ({ backup, ...record }));
}

/**
 * The last verification of the backup at `backupPath`, if it is still this backup (same
 * createdAt as its metadata now says); undefined otherwise.
 */
export async function verificationOf(backupPath: string, file = verificationStoreFile()): Promise<VerificationRecord | undefined> {
  const real = await fs.realpath(backupPath).catch(() => undefined);
  if (!real) {
    return undefined;
  }
  const record = (await readStore(file)).backups[real];
  if (!record) {
    return undefined;
  }
  const createdAt = await currentCreatedAt(real);
  return createdAt === record.createdAt ? { backup: real, ...record } : undefined;
}

/**
 * Files whose last change (ctime) is this close before a verification began are not taken as
 * verified: a file system's clock for ctime may lag the one verifiedAt was read from by a tick,
 * and some keep whole seconds (or two), so a write just after the verification began may look older.
 */
const VERIFIED_MARGIN_MS = 2000;

/**
 * True when a file last changed at `ctimeMs` is as a verification begun at `verifiedAtMs` found
 * it: any write, chmod or new link since (even one that puts the mtime back) moves its ctime.
 */
export function unchangedSinceVerified(ctimeMs: number, verifiedAtMs: number | undefined): boolean {
  return verifiedAtMs !== undefined && ctimeMs < verifiedAtMs - VERIFIED_MARGIN_MS;
}

/** True when the record says the backup passed a verification begun after it was made. */
export function passedSinceMade(record: VerificationRecord | undefined): record is VerificationRecord {
  return record !== undefined && record.ok && (record.createdAt === null || Date.parse(record.verifiedAt) >= Date.parse(record.createdAt));
}

/**
 * Records a verification's result: written to a temporary file beside the store, readable by
 * this user only, and renamed over it, so a reader never sees half a store. Records of backups
 * whose folder is gone are dropped meanwhile, so the store does not grow forever.
 */
export async function recordVerification(
  result: { backup: string; ok: boolean; problems: Array<{ path: string; problem: string }>; createdAt?: string; startedAt: string },
  file = verificationStoreFile(),
): Promise<VerificationRecord> {
  const real = await fs.realpath(result.backup).catch(() => path.resolve(result.backup));
  const record: VerificationRecord = {
    backup: real,
    createdAt: result.createdAt ?? null,
    ok: result.ok,
    problems: result.problems.length,
    summary: result.problems.slice(0, SUMMARY_LINES).map((problem) => `${problem.path}: ${problem.problem}`),
    verifiedAt: result.startedAt,
  };
  await withStoreLock(file, async () => {
    const store = await readStore(file);
    const kept: StoreFile['backups'] = {};
    for (const [backup, entry] of Object.entries(store.backups)) {
      if (
        backup !== real &&
        (await fs.lstat(backup).then(
          () => true,
          (error: unknown) => errnoCode(error) !== 'ENOENT',
        ))
      ) {
        kept[backup] = entry;
      }
    }
    const { backup, ...stored } = record;
    kept[backup] = stored;
    await writeStore(file, { format: 1, backups: kept });
  });
  return record;
}

/** Writers of a store in this process, one after the other. */
const writersHere = new Map<string, Promise<unknown>>();

/** How long a writer waits for another process's write of the store (a few ms of work) before giving up. */
const LOCK_WAIT_MS = 5000;

/**
 * Runs fn while holding the store's lock: a read, a change and a rename by one writer at a time
 * (two backups verified at once, in the extension and the CLI), so that no result is lost. The
 * lock is a file made with O_EXCL beside the store, naming its process; one left by a process
 * that is gone is taken over.
 */
async function withStoreLock(file: string, fn: () => Promise<void>): Promise<void> {
  const before = writersHere.get(file) ?? Promise.resolve();
  const mine = before.catch(() => undefined).then(() => withLockFile(`${file}.lock`, fn));
  writersHere.set(file, mine);
  try {
    await mine;
  } finally {
    if (writersHere.get(file) === mine) {
      writersHere.delete(file);
    }
  }
}

async function withLockFile(lock: string, fn: () => Promise<void>): Promise<void> {
  await fs.mkdir(path.dirname(lock), { recursive: true, mode: 0o700 });
  const deadline = performance.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      await fs.writeFile(lock, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      break;
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') {
        throw error;
      }
    }
    const holder = await fs.readFile(lock, 'utf8').then(
      (text) => Number.parseInt(text, 10),
      () => NaN,
    );
    const madeMs = (await fs.stat(lock).catch(() => undefined))?.mtimeMs ?? Number.NaN;
    if (Number.isInteger(holder) && !workOwnerRunning(holder, madeMs, false)) {
      await fs.rm(lock, { force: true }); // left by a process that is gone
      continue;
    }
    if (performance.now() > deadline) {
      throw new TracBackupError(
        'INVALID_ARGUMENT',
        `The verification store ${path.dirname(lock)} is locked by process ${holder} (${lock}): try again, or remove that file if no trac-backup runs.`,
        lock,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  try {
    await fn();
  } finally {
    await fs.rm(lock, { force: true });
  }
}

async function currentCreatedAt(backup: string): Promise<string | null | undefined> {
  try {
    return (await readManifest(backup))?.createdAt ?? null;
  } catch {
    return undefined; // unreadable metadata: no record matches
  }
}

async function readStore(file: string): Promise<StoreFile> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    return { format: 1, backups: {} };
  }
  try {
    const data = JSON.parse(text) as Partial<StoreFile>;
    return data && typeof data.backups === 'object' && data.backups !== null
      ? { format: 1, backups: data.backups }
      : { format: 1, backups: {} };
  } catch {
    return { format: 1, backups: {} }; // a damaged store forgets, and is written anew
  }
}

async function writeStore(file: string, store: StoreFile): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    await fs.writeFile(temp, `${JSON.stringify(store, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    await fs.rename(temp, file);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
}
