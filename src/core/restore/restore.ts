import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { CancelledError, TracBackupError, errnoCode, isCancelled, throwIfAborted } from '../shared/errors';
import { DatabasePlacement, databaseInsideNote, placeExternalDatabase } from './databasePlacement';
import { LiveTracReport, detectLiveTrac, tracRunningError } from '../trac/liveTrac';
import { BackupManifest, readManifest } from '../catalog/manifest';
import { Progress, ProgressCounter, ProgressTracker } from '../shared/progress';
import { RestoreCopy, checkCopy, checkMoved, copyBackup, moveBackup } from './restoreCopy';
import { startDatabaseCheckThread } from '../sqlite/databaseCheckThread';
import { sharedHashPool } from '../fs/hashPool';
import { RestorePlan, describeRestore } from './restorePlan';
import { releaseJournal, removeJournal, writeJournal } from '../work/restoreJournal';
import { canKeepOwners } from '../fs/owners';
import { RestoreLeftover, cleanRestoreLeftovers } from '../work/restoreLeftovers';
import { chooseAsidePath } from '../catalog/backupNames';
import { withLease } from '../work/lease';
import { SwapError, SwapPair, swapIn } from './restoreSwap';
import { checkRestorePaths, inspectTarget, requireBackupFolder, restoreWarnings } from './restoreTarget';
import { Workspace } from './restoreWorkspace';
import { PathProblem, verifyBackup } from '../verify/verify';
import { PreparedServer, prepareServerTarget, removeServerJournal, serverTargetExists, swapServerDatabase } from './serverRestoreStep';
import { findServerDump, pointCopyAt } from './serverRestore';
import { passedSinceMade, verificationOf } from '../catalog/verificationStore';

/**
 * The steps of a restore, in order:
 * - check: verify the backup (integrity_check, checksums), as verify does; nothing is written before it passes;
 * - recover: finish or clean up what a killed earlier restore left;
 * - copy: copy the backup into a temporary folder beside the environment (one unpacked from an
 *   archive is moved there instead);
 * - verify: check that copy;
 * - swap: move the environment aside and the copy in (no cancelling from here on).
 */
export type RestorePhase = 'check' | 'recover' | 'copy' | 'verify' | 'swap';

export const RESTORE_PHASES: readonly RestorePhase[] = ['check', 'recover', 'copy', 'verify', 'swap'];

export type RestoreProgress = Progress<RestorePhase>;

export interface RestoreOptions {
  /**
   * Replace what is at the environment path (and an external database whose path the
   * environment's trac.ini names, see placeExternalDatabase). Default false.
   */
  replace?: boolean;
  /** Replace even when Trac seems to be using the environment, or it is not a Trac environment. */
  force?: boolean;
  signal?: AbortSignal;
  onProgress?: (event: RestoreProgress) => void;
  /** The time the aside names carry (default: now). */
  now?: Date;
  /**
   * Without replace, asked before anything is replaced, once the backup is checked and no Trac
   * was found using the environment: true goes on; false cancels (CancelledError), nothing changed.
   */
  confirm?: (plan: RestorePlan) => Promise<boolean>;
  /**
   * How the extension asks: confirm is called before every restore, also when nothing would be
   * replaced, and also when Trac seems to be using the environment (plan.live says so; a yes
   * then goes on as force would), so that one prompt says everything.
   */
  confirmAlways?: boolean;
  /**
   * Give the restored files, folders and links the owners they have in the backup (a backup made
   * as root keeps the environment's). Default: when this process can (root; see canKeepOwners).
   */
  keepOwners?: boolean;
  /**
   * A PostgreSQL or MySQL/MariaDB backup goes into this database instead of the one the
   * environment's (or the backup's) trac.ini names; the restored trac.ini then names it.
   */
  databaseUrl?: string;
  /**
   * Restore a server database in place (drop, then load) instead of keeping the old data aside:
   * for a user who may not create the aside schema or database. Not atomic.
   */
  inPlace?: boolean;
}

export interface RestoreResult {
  /** Absolute path of the restored environment. */
  env: string;
  /** Where the environment that was there is kept; null when nothing was replaced. */
  aside: string | null;
  backup: string;
  /** Regular files written (the external database included) and their bytes. */
  files: number;
  bytes: number;
  /** How long it took, the time spent waiting for confirm left out. */
  durationMs: number;
  /**
   * An external database restored to its own path, and where the one there was kept: only over
   * an environment whose trac.ini names that file.
   */
  database: { file: string; aside: string | null } | null;
  /** An external database restored inside the environment instead (at `file`); `backedUpFrom` was not touched. */
  databaseInside: { file: string; backedUpFrom: string } | null;
  /** Where the database went, in words, when the backup's came from outside the environment. */
  notes: string[];
  /** When the backup was made (from its metadata), if known. */
  backupCreatedAt?: string;
  /** What killed earlier restores had left, and what was done with it. */
  leftovers: RestoreLeftover[];
  /** Folders every environment has (see INITENV_FOLDERS) that the backup lacked and the restore made. */
  madeFolders: string[];
  /** What the restore did not bring back (a database not in the backup). */
  warnings: string[];
  /** A PostgreSQL or MySQL/MariaDB database restored: where (no password), and where its old data is kept. */
  serverDatabase?: { display: string; aside: string | null; inPlace: boolean };
}

/** What a restore reads from: a backup folder, or the environment unpacked from an archive. */
export interface RestoreSource {
  folder: string;
  /**
   * The archive it was unpacked from (see restoreFromArchive): messages and the result name it,
   * and the unpacked tree, which is the restore's own, is moved into place instead of copied.
   */
  archive?: string;
}

/**
 * Restores a backup (made by this tool, or a plain `trac-admin hotcopy` folder) to
 * `environmentPath`, whole or not at all: the backup is checked first; a copy is built and
 * checked in a temporary folder beside the environment; then the environment is moved aside to
 * `<env>.before-restore-<YYYYMMDD-HHMMSS>` (never deleted) and the copy renamed into its place.
 * An error or cancel before that swap changes nothing; a failed swap is undone; a run killed
 * during the swap is finished by the next one (see restoreLeftovers).
 */
export async function restore(backupPath: string, environmentPath: string, options: RestoreOptions = {}): Promise<RestoreResult> {
  return restoreFrom({ folder: path.resolve(backupPath) }, environmentPath, options);
}

/** restore() from a backup folder or from the environment unpacked from an archive. */
export async function restoreFrom(source: RestoreSource, environmentPath: string, options: RestoreOptions = {}): Promise<RestoreResult> {
  const env = path.resolve(environmentPath);
  try {
    // Other windows and processes see the restore: none backs the environment up or restores it meanwhile.
    return await withLease(env, 'restore', () => runRestore(source, env, options));
  } catch (error) {
    if (options.signal?.aborted && (isCancelled(error) || !(error instanceof TracBackupError))) {
      throw new CancelledError('The restore');
    }
    throw restoreWording(error, env);
  }
}

async function runRestore(source: RestoreSource, env: string, options: RestoreOptions): Promise<RestoreResult> {
  const started = performance.now();
  const backup = source.folder;
  const { signal } = options;
  const progress = new PhaseProgress(options.onProgress);
  throwIfAborted(signal, 'The restore');
  await requireBackupFolder(backup);
  await checkRestorePaths(backup, env);
  progress.enter('check', signal);
  // A verification that passed since the backup was made vouches for the files unchanged since:
  // they are not read twice (the copy reads them, and compares what it wrote with the metadata).
  const record = source.archive ? undefined : await verificationOf(backup).catch(() => undefined);
  const verified = await verifyBackup(backup, {
    signal,
    onProgress: (event) => progress.forward(event),
    trustedSince: passedSinceMade(record) ? record.verifiedAt : undefined,
    trustSeal: !source.archive,
  });
  if (!verified.ok) {
    throw damagedBackupError(source, verified.problems);
  }
  const manifest = await readManifest(backup);
  progress.enter('recover', signal);
  const serverDump = await findServerDump(backup, manifest);
  const server = serverDump && (await prepareServerTarget(serverDump, env, options));
  const prepared = await prepareTarget(source, env, manifest, verified.database.note, options, server);
  if ('finished' in prepared && prepared.finished) {
    return finishedEarlier(source, env, manifest, prepared.finished, prepared.leftovers, started);
  }
  const { leftovers, aside, databaseAside, placement, confirmMs } = prepared;
  const external = placement?.where === 'own-path' ? placement.database : undefined;

  const workspace = new Workspace();
  try {
    const copy: RestoreCopy = {
      backup,
      archive: source.archive,
      manifest,
      environment: env,
      temp: source.archive ? await workspace.name(env) : await workspace.folder(env),
      databasePath: external || serverDump ? undefined : (verified.database.path ?? undefined),
      external: external && { ...external, temp: await workspace.name(external.file) },
      keepOwners: options.keepOwners ?? canKeepOwners(),
    };
    progress.enter('copy', signal);
    const built = await buildCopy(copy, source, workspace, progress, signal);
    if (server && server.target.url) {
      await pointCopyAt(copy.temp, server.target.url);
    }
    progress.enter('swap', signal);
    const restoredServer = server && (await swapServerDatabase(serverDump, server.target, env, source.archive ?? backup, signal));
    const pairs: SwapPair[] = [];
    if (copy.external) {
      pairs.push({ live: copy.external.file, temp: copy.external.temp, aside: databaseAside, sqlite: true });
    }
    pairs.push({ live: env, temp: copy.temp, aside });
    await swapWithJournal(env, source.archive ?? backup, pairs, workspace);
    if (server) {
      await removeServerJournal(env);
    }
    const databaseInside = placement?.where === 'inside' ? { file: placement.file, backedUpFrom: placement.backedUpFrom } : null;
    return {
      env,
      aside,
      backup: source.archive ?? backup,
      files: built.files,
      bytes: built.bytes,
      durationMs: Math.round(performance.now() - started - confirmMs),
      database: copy.external ? { file: copy.external.file, aside: databaseAside } : null,
      databaseInside,
      notes: [...(databaseInside ? [databaseInsideNote(databaseInside, true)] : []), ...(server?.notes ?? [])],
      backupCreatedAt: manifest?.createdAt,
      leftovers,
      madeFolders: built.madeFolders,
      warnings: server ? [] : restoreWarnings(manifest, verified.database.note, env, aside),
      ...(server && {
        serverDatabase: { display: server.target.plan.display, aside: restoredServer?.aside ?? null, inPlace: server.target.plan.inPlace },
      }),
    };
  } finally {
    await workspace.discard();
  }
}

/**
 * Builds the checked copy in copy.temp: the unpacked tree of an archive is moved there (it is the
 * restore's own, beside the environment), a backup folder is copied; either is checked.
 */
async function buildCopy(copy: RestoreCopy, source: RestoreSource, workspace: Workspace, progress: PhaseProgress, signal?: AbortSignal) {
  const moved = source.archive ? await moveBackup(copy, progress.tracker(), signal) : undefined;
  if (moved) {
    progress.enter('verify', signal);
    await checkMoved(copy, moved, signal);
    return moved;
  }
  if (source.archive) {
    await workspace.makeFolder(copy.temp);
  }
  // The threads that hash the copies and check the database at the end start now, while the backup is walked.
  sharedHashPool().warmUp();
  const thread = copy.databasePath || copy.external ? startDatabaseCheckThread() : undefined;
  try {
    const copied = await copyBackup(copy, progress.tracker(), signal);
    progress.enter('verify', signal);
    await checkCopy(copy, copied.mirror, progress.tracker(), signal, thread);
    return copied;
  } finally {
    thread?.stop();
  }
}

/**
 * Deals with what killed restores left, then decides what will be replaced and where it will be
 * kept, and where an external database goes, refusing what the options do not allow: replacing
 * without replace (or a confirm that says yes), a folder that is not an environment, or one Trac
 * is using, without force. Only paths this machine names are looked at beside the environment:
 * the environment's own and the database its trac.ini names, never one the metadata names.
 */
async function prepareTarget(
  source: RestoreSource,
  env: string,
  manifest: BackupManifest | undefined,
  databaseNote: string | undefined,
  options: RestoreOptions,
  server?: PreparedServer,
) {
  const found = await inspectTarget(env);
  const leftovers = await cleanRestoreLeftovers(env, found.database ? [found.database] : []);
  // Running a restore that was killed mid-swap again finishes it: that restore, not a second one.
  const finished = leftovers.find(
    (leftover) => leftover.done && leftover.action === 'finish' && leftover.restoredFrom === (source.archive ?? source.folder),
  );
  if (finished) {
    return { finished, leftovers };
  }
  const target = leftovers.some((leftover) => leftover.action === 'finish') ? await inspectTarget(env) : found;
  const placement: DatabasePlacement | undefined = await placeExternalDatabase(manifest, env, target);
  const externalFile = placement?.where === 'own-path' ? placement.database.file : undefined;
  const now = options.now ?? new Date();
  const replacing = target.state === 'environment' || target.state === 'other';
  const externalExists = externalFile
    ? await fs.lstat(externalFile).then(
        () => true,
        () => false,
      )
    : false;
  const aside = replacing ? await chooseAsidePath(env, now) : null;
  const databaseAside = externalFile && externalExists ? await chooseAsidePath(externalFile, now, true) : null;
  const serverReplaces = server?.target.plan.holdsNow !== undefined;
  const replaces = replacing || externalExists || serverReplaces;
  if (replaces && !options.replace && !options.confirm) {
    if (!replacing && !externalExists && server) {
      throw serverTargetExists(server.target);
    }
    throw targetExists(env, aside, externalFile, databaseAside);
  }
  if (target.state === 'other' && !options.force) {
    throw new TracBackupError(
      'TARGET_EXISTS',
      `${env} is not a Trac environment (${target.notEnvironment}): restore into a new folder, or restore anyway with ` +
        `force (--force); it would be kept as ${aside}.`,
      env,
    );
  }
  let live: LiveTracReport | undefined;
  if (replaces && !options.force) {
    live = await detectLiveTrac(env, { databaseFile: externalFile ?? target.database });
    if (live.running && !(options.confirm && options.confirmAlways)) {
      throw tracRunningError(live);
    }
  }
  const asked = performance.now();
  const ask = options.confirm && (options.confirmAlways || (replaces && !options.replace));
  if (ask) {
    const plan = await describeRestore(source.folder, env, { now, shownAs: source.archive, databaseNote, serverPlan: server?.target.plan });
    if (!(await options.confirm!({ ...plan, live }))) {
      throw new CancelledError('The restore');
    }
  }
  return { leftovers, aside, databaseAside, placement, confirmMs: performance.now() - asked };
}

/** The result of a run that only finished the interrupted restore of the same backup. */
function finishedEarlier(
  source: RestoreSource,
  env: string,
  manifest: BackupManifest | undefined,
  finished: RestoreLeftover,
  leftovers: RestoreLeftover[],
  started: number,
): RestoreResult {
  const backup = source.archive ?? source.folder;
  return {
    env,
    aside: finished.keptAs ?? null,
    backup,
    files: manifest?.fileCount ?? 0,
    bytes: manifest?.bytes ?? 0,
    durationMs: Math.round(performance.now() - started),
    database: null,
    databaseInside: null,
    notes: [
      `A restore of ${backup} into ${env} had been stopped while swapping folders: this run finished it, so ${env} holds that backup now.`,
    ],
    backupCreatedAt: manifest?.createdAt,
    leftovers,
    madeFolders: [],
    warnings: [],
  };
}

/**
 * Writes the journal (the commit point), swaps, removes the journal. A swap that failed and was
 * undone leaves nothing; one that could not be undone leaves the journal and every copy for the
 * next run to finish.
 */
async function swapWithJournal(env: string, backup: string, pairs: SwapPair[], workspace: Workspace): Promise<void> {
  await writeJournal({ startedAt: new Date().toISOString(), environment: env, backup, pairs });
  try {
    await swapIn(pairs);
    workspace.keep();
    // Done: a journal that stays behind only tells the next run that everything is in place.
    await removeJournal(env).catch(() => undefined);
  } catch (error) {
    if (error instanceof SwapError && !error.undone) {
      workspace.keep();
    } else {
      await removeJournal(env);
    }
    throw error;
  } finally {
    releaseJournal(env);
  }
}

/** Reports progress with the restore's phase; each phase counts its own files and bytes. */
class PhaseProgress {
  private phase: RestorePhase = 'check';

  constructor(private readonly listener?: (event: RestoreProgress) => void) {}

  enter(phase: RestorePhase, signal: AbortSignal | undefined): void {
    this.phase = phase;
    this.listener?.({ phase, bytesDone: 0, bytesTotal: 0, filesDone: 0, filesTotal: 0 });
    throwIfAborted(signal, 'The restore');
  }

  forward(event: Omit<RestoreProgress, 'phase'>): void {
    this.listener?.({ ...event, phase: this.phase });
  }

  /** A tracker for one phase's files and bytes, reported under the restore's phase. */
  tracker(): ProgressCounter {
    return new ProgressTracker(this.phase, (event) => this.forward(event));
  }
}

/** The refusal of a backup that failed its check, naming the first problems (and the archive it came in). */
function damagedBackupError(source: RestoreSource, problems: PathProblem[]): TracBackupError {
  const shown = problems
    .slice(0, 3)
    .map((problem) => (problem.path === '.' ? problem.problem : `${problem.path} ${problem.problem}`).replace(/\s*\n\s*/g, ' '));
  const more = problems.length > 3 ? ` (and ${problems.length - 3} more problems)` : '';
  if (source.archive) {
    return new TracBackupError(
      'BACKUP_DAMAGED',
      `The archive ${source.archive} holds a damaged or incomplete backup, so nothing was restored or changed: ` +
        `${shown.join('; ')}${more}. Choose another archive, or make it again from a backup that passes trac-backup verify.`,
      source.archive,
    );
  }
  return new TracBackupError(
    'BACKUP_DAMAGED',
    `The backup ${source.folder} is damaged or incomplete, so nothing was restored or changed: ${shown.join('; ')}${more}. ` +
      'Choose another backup (trac-backup verify lists every problem).',
    source.folder,
  );
}

function targetExists(env: string, aside: string | null, database: string | undefined, databaseAside: string | null): TracBackupError {
  const what = [
    aside ? `${env} (kept as ${aside})` : undefined,
    databaseAside ? `the database ${database} (kept as ${databaseAside})` : undefined,
  ]
    .filter(Boolean)
    .join(' and ');
  return new TracBackupError(
    'TARGET_EXISTS',
    `${aside ? env : database} already exists: restoring replaces ${what}. Confirm with --yes (replace), or choose a path that does not exist.`,
    aside ? env : database,
  );
}

/** The copy helpers speak of backups; a restore's user needs to hear about the environment. */
function restoreWording(error: unknown, env: string): unknown {
  if (error instanceof TracBackupError && (error.code === 'DISK_FULL' || error.code === 'DESTINATION_UNWRITABLE')) {
    const reason =
      error.code === 'DISK_FULL'
        ? 'the disk is full'
        : `${error.path ?? 'its folder'} cannot be written (${errnoCode(error.cause) ?? 'permission denied'})`;
    return new TracBackupError(
      error.code,
      `Can't restore to ${env}: ${reason}. The partial copy was removed and nothing was changed; ` +
        (error.code === 'DISK_FULL' ? 'free some space, then try again.' : 'restore somewhere you can write to.'),
      env,
      { cause: error },
    );
  }
  return error;
}
