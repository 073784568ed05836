import { promises as fs, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ATTACHMENTS_DIR, AttachmentIndex } from '../trac/attachments';
import { pointConfigAtDatabase } from './configRewrite';
import {
  checkDestinationPlace,
  createTemporarySibling,
  publishBackup,
  realFolderInWork,
  refuseExistingDestination,
} from './backupDestination';
import { DatabaseSnapshotter, verifySnapshot } from '../sqlite/databaseSnapshot';
import { DatabaseCheckThread, startDatabaseCheckThread } from '../sqlite/databaseCheckThread';
import { sharedHashPool } from '../fs/hashPool';
import { CancelledError, TracBackupError, throwIfAborted } from '../shared/errors';
import { readDatabaseState } from './changedSinceBackup';
import { hashFile, readOnlyMode } from '../fs/fileCopy';
import { TreeEntry, pathExists, removeTree, walkTree, walkTreeSync } from '../fs/fileTree';
import { Suspects, closeAll, findSuspects, inAttachments, openForCopy, planLockedChanges } from './lockedAttachments';
import { SourceMovedError, destinationError, folderChange, removeMadeFolders, sourceError, whenSourceGone } from '../fs/fsErrors';
import { PreviousBackup } from './previousBackup';
import {
  BackupManifest,
  MANIFEST_FILE,
  MANIFEST_FORMAT,
  DatabaseFileState,
  ManifestDatabase,
  SourceState,
  folderIdentity,
  writeManifest,
} from '../catalog/manifest';
import { HotcopyPhase, HotcopyProgress } from './backupProgress';
import { ProgressTracker } from '../shared/progress';
import { HotcopySource, inspectSource } from './hotcopySource';
import { TOOL_NAME, TOOL_VERSION } from '../shared/toolInfo';
import { MirrorRecord, TreeMirror } from '../fs/treeMirror';
import { canKeepOwners } from '../fs/owners';
import { SweptWork, releaseWork, sweepDeadWork, workPathFor } from '../work/workFolder';
import { acquireLease } from '../work/lease';
import { chooseFreeBackupPath } from '../catalog/backupNames';
import { journalPath } from '../work/restoreJournal';
import { ServerDumpSession } from '../serverDatabase/serverSession';
import { configuredDumpTool, openDumpSession } from '../serverDatabase/openDumpSession';
import { checkDumpFile } from '../serverDatabase/dumpCheck';
import { ServerDumpContext, dumpServerDatabase } from './serverDump';
import { recordedMode } from '../fs/modes';
import { lockingWarning } from '../sqlite/lockingFileSystem';

export interface HotcopyOptions {
  /** False leaves the database out, like `trac-admin hotcopy --no-database`. Default true. */
  includeDatabase?: boolean;
  signal?: AbortSignal;
  onProgress?: (event: HotcopyProgress) => void;
  /**
   * A previous backup of the same environment: files unchanged since (same size, mtime and mode
   * as its metadata records) are hard-linked from it instead of copied. The database is always
   * a fresh snapshot. Where links are impossible, files are copied (see `linkFallback`).
   */
  linkDest?: string;
  /**
   * When linkDest's last passed verification began (ISO 8601, from verificationStore.ts): its
   * files unchanged since are linked as they are; without it, each is hashed first (see linkDest.ts).
   */
  linkDestVerifiedAt?: string;
  /**
   * Give every file, folder and link of the backup the owner and group it has in the source.
   * Default: when this process can (root on POSIX; see canKeepOwners).
   */
  keepOwners?: boolean;
  /** Told of each piece of dead work swept from the destination's folder before the backup starts. */
  onSwept?: (swept: SweptWork) => void;
  /**
   * When the destination's name is taken (a backup of the same second in another window), use the
   * next free one (`-2`, `-3`, …) instead of refusing. The result's `dest` says which.
   */
  nextFreeName?: boolean;
}

export interface HotcopyResult {
  /** Absolute path of the new backup. */
  dest: string;
  /** Regular files in the backup (the metadata file excepted). */
  files: number;
  bytes: number;
  durationMs: number;
  /** How long Trac's writers were held off (0 without the database). */
  lockMs: number;
  /** How long the backup waited for writers already running before it got the lock. */
  lockWaitMs: number;
  databaseIncluded: boolean;
  databaseVersion?: string;
  createdAt: string;
  manifestFile: string;
  /** True when made with linkDest. */
  incremental: boolean;
  /** The previous backup linked from, absolute. */
  linkDest?: string;
  /** Files, and their bytes, hard-linked from linkDest. */
  linkedFiles: number;
  linkedBytes: number;
  /** Files, and their bytes, written anew (the database included): the backup's new data. */
  copiedFiles: number;
  copiedBytes: number;
  /**
   * Of those, the files (and bytes) that are copy-on-write clones of the environment's (XFS with
   * reflink, btrfs, APFS): they share its blocks, so take no new disk until one side changes.
   */
  clonedFiles: number;
  clonedBytes: number;
  /** Set when some unchanged files were copied because they could not be linked: why. */
  linkFallback?: string;
  /** Set when the live database is on a network or shared file system whose locks SQLite cannot rely on: what to do. */
  lockingWarning?: string;
  /**
   * What killed backups and deletions had left in the destination's folder, swept before this
   * one started: partial backups removed, a complete one finished (see sweepDeadWork).
   */
  swept: SweptWork[];
  /** Set when files of linkDest no longer matched their checksum (so were copied): which, and that it is damaged. */
  linkDestDamaged?: string;
}

/** Catch-up passes without the lock stop once a pass finds this little to copy. */
const SETTLED_BYTES = 1024 * 1024;
const MAX_CATCH_UP_PASSES = 3;
/** A first pass that mostly linked and took less than this left too little behind to walk the tree again for. */
const QUICK_PASS_MS = 2000;
const CONFIG_FILE = 'conf/trac.ini';

/**
 * Backs up a live Trac environment into `destination` (which must not exist): a folder Trac
 * can open as is, with a transaction-consistent database and attachment files that agree with
 * it, while Trac's writers wait only for the database snapshot (not for the file copy).
 * Builds into a temporary sibling and renames it into place when complete; on error or abort
 * (CancelledError) nothing is left behind. The source is never written.
 * The backup's files are read-only (folders keep their modes); the metadata records the
 * source's modes. With `linkDest`, unchanged files are hard links into that earlier backup.
 */
export async function hotcopy(environmentPath: string, destination: string, options: HotcopyOptions = {}): Promise<HotcopyResult> {
  const started = performance.now();
  const { signal } = options;
  throwIfAborted(signal, 'The backup');
  const source = await inspectSource(environmentPath, options.includeDatabase ?? true);
  // Other windows and processes see this backup; a restore of the environment refuses while it runs.
  const lease = await acquireLease(source.root, 'backup');
  try {
    return await backUpLeased(source, destination, options, started);
  } finally {
    await lease.release();
  }
}

async function backUpLeased(source: HotcopySource, destination: string, options: HotcopyOptions, started: number): Promise<HotcopyResult> {
  const { signal } = options;
  const identity = await fs.stat(source.root);
  let dest = await checkDestinationPlace(source.realRoot, destination, source.linkedFolders);
  // Before the check that the name is free: a backup killed while publishing it may hold it.
  const swept = await sweepDeadWork(path.dirname(dest), ['backup', 'delete']);
  swept.forEach((item) => options.onSwept?.(item));
  if (options.nextFreeName) {
    dest = await chooseFreeBackupPath(path.dirname(dest), path.basename(dest));
  } else {
    await refuseExistingDestination(dest);
  }
  const previous = options.linkDest
    ? await PreviousBackup.open(options.linkDest, source.root, dest, { verifiedAt: options.linkDestVerifiedAt })
    : undefined;
  throwIfAborted(signal, 'The backup');
  const created = await createTemporarySibling(dest);
  let temp = created.temp;
  try {
    const run = new HotcopyRun(source, dest, temp, options, previous);
    const built = await run.build();
    throwIfAborted(signal, 'The backup');
    await requireSameEnvironment(source.root, identity);
    for (;;) {
      try {
        await publishBackup(temp, dest);
        break;
      } catch (error) {
        if (!options.nextFreeName || !(error instanceof TracBackupError) || error.code !== 'DESTINATION_EXISTS') {
          throw error;
        }
        // Another backup took the name meanwhile (another window, the same second): the next one.
        const next = await chooseFreeBackupPath(path.dirname(dest), path.basename(dest));
        const nextTemp = workPathFor(next, 'backup');
        await fs.rename(temp, nextTemp);
        releaseWork(temp);
        [temp, dest] = [nextTemp, next];
      }
    }
    return { dest, ...built, manifestFile: path.join(dest, MANIFEST_FILE), durationMs: round(performance.now() - started), swept };
  } catch (error) {
    await removeTree(temp).catch(() => undefined);
    await removeMadeFolders(created.madeParents);
    // Whatever stopped it once cancelled (a copy reports "The operation"), it was the backup.
    if (signal?.aborted) {
      throw new CancelledError('The backup');
    }
    throw await whenSourceGone(error, source.root);
  } finally {
    releaseWork(temp);
  }
}

/**
 * The backup describes the folder it started from: if that folder was replaced meanwhile (a
 * restore by a process that does not take leases, a folder moved by hand), or a restore of it is
 * half done (its journal is there), what was copied is a mix of two environments.
 */
async function requireSameEnvironment(root: string, identity: { dev: number; ino: number }): Promise<void> {
  const change = await folderChange(root, identity);
  if (change === 'gone') {
    throw new SourceMovedError(root);
  }
  if (change === 'replaced' || (await pathExists(journalPath(root)))) {
    throw new SourceMovedError(root, { replaced: true, why: change ? undefined : 'a restore of it is under way' });
  }
}

type BuiltBackup = Omit<HotcopyResult, 'dest' | 'manifestFile' | 'durationMs' | 'swept'>;

class HotcopyRun {
  private readonly progress: ProgressTracker<HotcopyPhase>;
  private readonly mirror: TreeMirror;
  private readonly started = performance.now();
  private readonly signal?: AbortSignal;
  private readonly keepOwners: boolean;
  /** The environment's folder as the backup began: a walk checks it is still that folder. */
  private rootStats?: { dev: number; ino: number };
  private checkThread?: DatabaseCheckThread;

  constructor(
    private readonly source: HotcopySource,
    private readonly dest: string,
    private readonly temp: string,
    options: HotcopyOptions,
    private readonly previous?: PreviousBackup,
  ) {
    this.signal = options.signal;
    this.keepOwners = options.keepOwners ?? canKeepOwners();
    this.progress = new ProgressTracker<HotcopyPhase>('scan', options.onProgress);
    this.mirror = new TreeMirror(temp, {
      destination: dest,
      progress: this.progress,
      signal: options.signal,
      storedMode: readOnlyMode,
      reuse: previous,
      keepOwners: this.keepOwners,
    });
    if (previous) {
      previous.onFallback = (reason) => this.progress.note(`linkFallback: ${reason}`);
      previous.onDamaged = (note) => this.progress.note(`linkDestDamaged: ${note}`);
      previous.keepOwners = this.keepOwners;
    }
  }

  private lockingWarning: string | undefined;

  async build(): Promise<BuiltBackup> {
    const snapshot = this.source.snapshot;
    this.lockingWarning = snapshot ? await lockingWarning(snapshot.file) : undefined;
    const server = this.source.server && (await openDumpSession(this.source.server.location, this.source.server.config));
    const snapshotter = snapshot ? DatabaseSnapshotter.open(snapshot.file) : undefined;
    // The threads that hash the copies and check the snapshot at the end start now, while the tree is walked.
    sharedHashPool().warmUp();
    this.checkThread = snapshotter && startDatabaseCheckThread();
    // The previous backup's files are looked up ahead while the tree is walked, too.
    this.previous?.warmUp();
    try {
      return await this.buildWith(snapshotter, server);
    } finally {
      this.previous?.stopWarmUp();
      this.checkThread?.stop();
      snapshotter?.close();
      await server?.close();
    }
  }

  private async buildWith(snapshotter: DatabaseSnapshotter | undefined, server?: ServerDumpSession): Promise<BuiltBackup> {
    const { source } = this;
    const index = snapshotter?.read((db) => new AttachmentIndex(db));
    // The attachment rows as committed just before a pass: a file copied in that pass while its
    // row was already there is complete (see findSuspects).
    const readRows = async (): Promise<Map<string, string> | undefined> => {
      try {
        return server ? await server.readAttachmentRows() : index?.read();
      } catch {
        return undefined;
      }
    };
    const tagWith = (rows: Map<string, string> | undefined) => ({ tag: (relative: string) => rows?.get(relative) });
    this.enter('scan');
    const rootStats = (this.rootStats = await fs.stat(source.root));
    let rows = await readRows();
    const first = await this.walk();
    if (source.snapshot) {
      this.progress.expect(1, source.snapshot.bytes);
    }
    this.enter('copy');
    const passStarted = performance.now();
    const firstPass = await this.mirror.sync(first, undefined, tagWith(rows));
    this.enter('catch-up');
    // A first pass that mostly linked from the previous backup was short: what changed meanwhile
    // (writes pile up with time, not with the bytes copied) is little, and the lock and finish
    // phases bring it in anyway. Another walk of the tree is not little.
    const settled = firstPass.reused > 0 && performance.now() - passStarted < QUICK_PASS_MS && firstPass.copied + firstPass.removed < 100;
    for (let pass = 0; pass < (settled ? 0 : MAX_CATCH_UP_PASSES); pass++) {
      rows = await readRows();
      const result = await this.mirror.sync(await this.walk(), undefined, tagWith(rows));
      if (result.bytes < SETTLED_BYTES && result.copied + result.removed < 100) {
        break;
      }
    }
    let lockMs = 0;
    let lockWaitMs = 0;
    let createdAt = new Date();
    let database: ManifestDatabase = source.manifestDatabase;
    const sourceState: SourceState = {};
    if (snapshotter && source.snapshot) {
      const { storedAt } = source.snapshot;
      // Most of the comparison happens now, without the lock; under it, only what changed since.
      const suspects = index && rows ? { index, rows, paths: findSuspects(this.mirror, rows) } : undefined;
      ({
        lockMs,
        lockWaitMs,
        createdAt,
        databaseState: sourceState.database,
      } = await this.snapshotUnderLock(snapshotter, suspects, storedAt));
      // The snapshot's check (on a thread of its own) goes on while the rest of the tree is brought in.
      const databaseChecked = this.verifyDatabase(storedAt);
      void databaseChecked.catch(() => undefined); // handled: its failure is thrown where it is awaited, below
      try {
        this.enter('finish');
        // The attachments stay as they were under the lock; the snapshot is not in the source tree.
        const unlocked = (relative: string) => !inAttachments(relative) && relative !== storedAt;
        await this.mirror.sync(await this.walk(inAttachments), unlocked);
        if (source.snapshot.external) {
          database = { ...database, configRewritten: await this.rewriteConfig(storedAt, database.url, sourceState) };
        }
      } catch (error) {
        // The temporary folder is removed next: not while the check still reads the snapshot in it.
        await databaseChecked.catch(() => undefined);
        throw error;
      }
      this.enter('verify');
      database = { ...database, ...(await databaseChecked) };
    } else if (server) {
      let version: string | undefined;
      ({ lockMs, lockWaitMs, createdAt, version } = await dumpServerDatabase(this.serverDumpContext(), server));
      this.enter('finish');
      const dumpFolder = path.posix.dirname(server.storedAt);
      await this.mirror.sync(
        await this.walk(inAttachments),
        (relative) => !inAttachments(relative) && relative !== server.storedAt && relative !== dumpFolder,
      );
      await this.recordMadeFolder(dumpFolder);
      this.enter('verify');
      database = { ...database, path: server.storedAt, version, server: server.facts, ...(await this.hashServerDump(server.storedAt)) };
    } else {
      this.enter('finish');
      await this.mirror.sync(await this.walk());
      this.enter('verify');
    }
    await this.mirror.applyFolderAttributes();
    const entries = this.mirror.manifestEntries();
    const files = entries.filter((entry) => entry.type === 'file');
    const bytes = files.reduce((sum, entry) => sum + (entry.type === 'file' ? entry.size : 0), 0);
    const reuse = this.reuseFigures(files.length, bytes);
    const manifest: BackupManifest = {
      format: MANIFEST_FORMAT,
      tool: { name: TOOL_NAME, version: TOOL_VERSION },
      createdAt: createdAt.toISOString(),
      source: { path: source.root, projectName: source.projectName, host: os.hostname(), identity: folderIdentity(rootStats) },
      database,
      fileCount: files.length,
      bytes,
      lockMs: round(lockMs),
      durationMs: round(performance.now() - this.started),
      filesReadOnly: true,
      seal: { at: new Date().toISOString(), folder: folderIdentity(await fs.stat(this.temp)) },
      ...reuse,
      sourceState,
      entries,
    };
    await writeManifest(this.temp, manifest).catch((error: unknown) => {
      throw destinationError(error, this.dest);
    });
    if (this.keepOwners) {
      await fs.chown(path.join(this.temp, MANIFEST_FILE), rootStats.uid, rootStats.gid);
      await fs.chown(this.temp, rootStats.uid, rootStats.gid);
    }
    await fs.chmod(this.temp, rootStats.mode & 0o7777);
    await fs.utimes(this.temp, rootStats.atimeMs / 1000, rootStats.mtimeMs / 1000);
    this.enter('publish');
    return {
      files: files.length,
      bytes,
      lockMs: round(lockMs),
      lockWaitMs: round(lockWaitMs),
      databaseIncluded: database.included,
      databaseVersion: database.version,
      createdAt: manifest.createdAt,
      ...reuse,
      ...(this.previous?.damageNote && { linkDestDamaged: this.previous.damageNote }),
    };
  }

  /** What was linked from the previous backup and what was written anew. */
  private reuseFigures(files: number, bytes: number) {
    let linkedFiles = 0;
    let linkedBytes = 0;
    for (const record of this.mirror.records.values()) {
      if (record.kind === 'file' && record.linked) {
        linkedFiles += 1;
        linkedBytes += record.size;
      }
    }
    return {
      incremental: this.previous !== undefined,
      ...(this.previous && { linkDest: this.previous.root }),
      linkedFiles,
      linkedBytes,
      copiedFiles: files - linkedFiles,
      copiedBytes: bytes - linkedBytes,
      ...this.mirror.clonedFigures(),
      ...(this.previous?.fallback && { linkFallback: this.previous.fallback }),
      ...(this.lockingWarning && { lockingWarning: this.lockingWarning }),
    };
  }

  /** Points the backup's trac.ini at the snapshot, noting what the source's trac.ini was like. */
  private async rewriteConfig(storedAt: string, url: string, sourceState: SourceState) {
    const before = this.mirror.records.get(CONFIG_FILE);
    if (before) {
      sourceState.rewritten = { [CONFIG_FILE]: { size: before.size, mtimeMs: before.mtimeMs, mode: before.mode } };
    }
    await realFolderInWork(this.temp, path.posix.dirname(CONFIG_FILE), this.source.root, this.dest);
    const configRewritten = await pointConfigAtDatabase(this.temp, this.mirror, storedAt, url);
    const record = this.mirror.records.get(configRewritten.file);
    if (record) {
      await this.giveOwner(path.join(this.temp, ...configRewritten.file.split('/')), before ?? record);
      await fs.chmod(path.join(this.temp, ...configRewritten.file.split('/')), readOnlyMode(record.mode));
    }
    return configRewritten;
  }

  /**
   * The short lock: take Trac's write lock, snapshot the database, work out which attachment
   * files must change to agree with the snapshot (no Trac transaction is running, so the disk
   * agrees with it) and open them, release. The copying happens after the release, from the
   * open files; so the lock's length depends on the database and on what changed, not on the
   * size of the attachments.
   */
  private async snapshotUnderLock(snapshotter: DatabaseSnapshotter, suspects: Suspects | undefined, storedAt: string) {
    this.enter('lock');
    const folder = await realFolderInWork(this.temp, path.posix.dirname(storedAt), this.source.root, this.dest);
    const target = path.join(folder, path.posix.basename(storedAt));
    const waitStarted = performance.now();
    await snapshotter.lock(this.signal);
    const lockWaitMs = performance.now() - waitStarted;
    const createdAt = new Date();
    let databaseState: DatabaseFileState | undefined;
    let lockMs = 0;
    let descriptors = new Map<string, number>();
    try {
      this.enter('snapshot');
      const writeSnapshot = await snapshotter.snapshot(target, this.source.snapshot?.bytes ?? 0).catch((error) => {
        throw destinationError(error, this.dest);
      });
      const dbStats = statSync(snapshotter.file);
      databaseState = readDatabaseState(snapshotter.file);
      let plan = suspects && planLockedChanges(this.source.root, this.mirror, suspects, this.source.follow);
      if (plan) {
        // Windows refuses to delete an open file: there, Trac's deletes must not meet our handles.
        if (process.platform === 'win32') {
          await this.mirror.apply(plan.present, plan.absent, plan);
          plan = undefined;
        } else {
          descriptors = openForCopy(plan.toCopy);
        }
      } else {
        // No attachment table to go by: compare every file under files/attachments.
        const entries = walkTreeSync(this.source.root, ATTACHMENTS_DIR, { exclude: this.source.exclude, follow: this.source.follow });
        await this.mirror.sync(entries, inAttachments);
      }
      lockMs = snapshotter.unlock();
      await writeSnapshot().catch((error) => {
        throw destinationError(error, this.dest);
      });
      this.progress.advance(this.source.snapshot?.bytes ?? 0, storedAt);
      if (plan) {
        await this.mirror.apply(plan.present, plan.absent, { ...plan, sources: descriptors });
      }
      this.mirror.addFile(storedAt, {
        mode: recordedMode(dbStats),
        size: 0,
        atimeMs: dbStats.atimeMs,
        mtimeMs: dbStats.mtimeMs,
        ctimeMs: dbStats.ctimeMs,
        ino: dbStats.ino,
        uid: dbStats.uid,
        gid: dbStats.gid,
      });
    } finally {
      lockMs ||= snapshotter.unlock();
      closeAll(descriptors);
    }
    return { lockMs, lockWaitMs, createdAt, databaseState };
  }

  private serverDumpContext(): ServerDumpContext {
    return {
      root: this.source.root,
      temp: this.temp,
      dest: this.dest,
      mirror: this.mirror,
      follow: this.source.follow,
      signal: this.signal,
      enter: (phase) => this.enter(phase),
    };
  }

  /** A folder this run made in the backup (db/ for a server's dump, where the environment has none) goes into the metadata. */
  private async recordMadeFolder(relative: string): Promise<void> {
    if (this.mirror.records.has(relative)) {
      return;
    }
    const stats = await fs.stat(path.join(this.temp, ...relative.split('/')));
    this.mirror.records.set(relative, {
      kind: 'directory',
      mode: stats.mode & 0o7777,
      size: 0,
      atimeMs: stats.atimeMs,
      mtimeMs: stats.mtimeMs,
      ctimeMs: stats.ctimeMs,
      ino: stats.ino,
    });
  }

  /** Checks the dump reads, hashes it and makes it read-only, like every file of a backup. */
  private async hashServerDump(storedAt: string): Promise<Partial<ManifestDatabase>> {
    const file = path.join(this.temp, ...storedAt.split('/'));
    const problem = await checkDumpFile(
      file,
      this.source.server && configuredDumpTool(this.source.server.location, this.source.server.config),
    );
    if (problem) {
      throw new TracBackupError(
        'DUMP_FAILED',
        `The dump of ${this.source.manifestDatabase.url} is not whole: ${problem}. Nothing was published; back up again.`,
        file,
      );
    }
    const record = this.mirror.records.get(storedAt)!;
    record.sha256 = await hashFile(file, this.signal);
    record.size = (await fs.stat(file)).size;
    await fs.chmod(file, readOnlyMode(record.mode));
    this.progress.fileDone(storedAt);
    return {};
  }

  /** Checks the snapshot, hashes it and gives it the source database's mode and mtime. */
  private async verifyDatabase(storedAt: string): Promise<Partial<ManifestDatabase>> {
    const file = path.join(this.temp, ...storedAt.split('/'));
    const { version } = await verifySnapshot(file, this.signal, this.checkThread);
    const record = this.mirror.records.get(storedAt)!;
    record.sha256 = await hashFile(file, this.signal);
    record.size = (await fs.stat(file)).size;
    await this.giveOwner(file, record);
    await fs.chmod(file, readOnlyMode(record.mode));
    await fs.utimes(file, record.atimeMs / 1000, record.mtimeMs / 1000);
    this.progress.fileDone(storedAt);
    return { version, path: storedAt };
  }

  /** A file this run wrote itself (not copied) gets the owner its source has, where owners are kept. */
  private async giveOwner(file: string, record: MirrorRecord): Promise<void> {
    if (this.keepOwners && record.uid !== undefined && record.gid !== undefined) {
      await fs.chown(file, record.uid, record.gid);
    }
  }

  private async walk(skip?: (relative: string) => boolean): Promise<TreeEntry[]> {
    const exclude = this.source.exclude;
    let entries: TreeEntry[];
    try {
      entries = await walkTree(this.source.root, {
        signal: this.signal,
        follow: this.source.follow,
        exclude: skip ? (relative, kind) => skip(relative) || exclude(relative, kind) : exclude,
      });
    } catch (error) {
      const file = (error as NodeJS.ErrnoException).path;
      throw file && !(error instanceof TracBackupError) ? sourceError(error, file) : error;
    }
    // A walk leaves out what vanished while it ran (Trac deleting a file): the environment moved
    // away or being deleted meanwhile would leave a tree that is no environment, never a backup.
    const found = new Set(entries.map((entry) => entry.relative));
    const change = this.rootStats ? await folderChange(this.source.root, this.rootStats) : undefined;
    if (!found.has('VERSION') || !found.has(CONFIG_FILE) || change) {
      throw new SourceMovedError(this.source.root, { replaced: change === 'replaced' });
    }
    return entries;
  }

  private enter(phase: HotcopyPhase): void {
    this.progress.enter(phase);
    throwIfAborted(this.signal, 'The backup');
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
