import { Stats, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readEnvironment, whyNotAnEnvironment } from '../trac/environment';
import { describeError, errnoCode } from '../shared/errors';
import { measureTree } from '../fs/fileTree';
import { defaultBackupFolder } from './backupNames';
import { FolderIdentity, folderIdentity, readManifestHead } from './manifest';
import { isWorkName } from '../work/workFolder';

export interface BackupInfo {
  /** Absolute path of the backup folder. */
  path: string;
  /** Its folder name. */
  name: string;
  /** 'hotcopy': made by this tool (has metadata); 'trac-admin': a plain environment copy without it. */
  kind: 'hotcopy' | 'trac-admin';
  /** From the metadata, else when the folder was made (birth time, else ctime). */
  createdAt: Date;
  bytes: number;
  files: number;
  projectName?: string;
  /** The environment it was made from, when the metadata says. */
  sourcePath?: string;
  /** The machine it was made on (the metadata's source.host); absent in older metadata. */
  sourceHost?: string;
  /** The identity of the environment's folder when it was made (source.identity); absent in older metadata. */
  sourceIdentity?: FolderIdentity;
  databaseIncluded?: boolean;
  lockMs?: number;
  /** True when unchanged files are hard links into an earlier backup. */
  incremental?: boolean;
  /**
   * The data this backup wrote anew (the database, new and changed files): from the metadata,
   * so free to read. What deleting it would free may be more (see backupsDiskUsage).
   */
  copiedBytes?: number;
  linkedBytes?: number;
  /**
   * Set when the metadata is there but cannot be read: the backup is listed, flagged. Listing
   * reads only the head of the metadata (readManifestHead): damage further down shows in verify.
   */
  problem?: string;
  /** The backup folder's own device and inode (and birth time), as listed: with createdAt, which backup this is. */
  folderIdentity?: FolderIdentity;
}

/**
 * The backups in a folder, newest first: folders with this tool's metadata, and plain Trac
 * environments (what `trac-admin hotcopy` makes). Backups still being built are left out.
 * A missing folder has no backups.
 */
export async function listBackups(folder: string, only: (name: string) => boolean = () => true): Promise<BackupInfo[]> {
  let names: string[];
  try {
    names = await fs.readdir(folder);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') {
      return [];
    }
    throw error;
  }
  const found = await Promise.all(
    names.filter((name) => !isWorkName(name) && only(name)).map((name) => describeBackup(path.join(path.resolve(folder), name))),
  );
  return found
    .filter((backup): backup is BackupInfo => backup !== undefined)
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.name < b.name ? 1 : -1));
}

/**
 * The newest backup of the environment in `folder` whose metadata reads: what an incremental
 * backup links from. Undefined when there is none. `accept` may refuse candidates (one that did
 * not pass verification): the newest accepted one is returned.
 */
export async function newestBackupFor(
  folder: string,
  environmentPath: string,
  accept: (backup: BackupInfo) => boolean | Promise<boolean> = () => true,
): Promise<BackupInfo | undefined> {
  const environment = await identifyEnvironment(environmentPath);
  for (const backup of await listBackups(folder)) {
    if (backup.kind === 'hotcopy' && !backup.problem && (await isBackupOf(backup, environment)) && (await accept(backup))) {
      return backup;
    }
  }
  return undefined;
}

/** The machine's name as backups record it (source.host), compared without case as DNS does. */
function thisHost(): string {
  return os.hostname().toLowerCase();
}

/** What a backup's metadata says of where it was made from (BackupInfo has these). */
export interface BackupSource {
  sourcePath?: string;
  sourceHost?: string;
  sourceIdentity?: FolderIdentity;
}

/**
 * An environment as isBackupOf compares it, read once for many backups: its path, its real
 * path, and the identity of its folder now (absent when it is not there).
 */
export interface EnvironmentIdentity {
  path: string;
  real: string;
  folder?: FolderIdentity;
  /** Real paths of recorded source paths already resolved: many backups record the same one. */
  readonly realOf: Map<string, Promise<string | undefined>>;
}

export async function identifyEnvironment(environmentPath: string): Promise<EnvironmentIdentity> {
  const resolved = path.resolve(environmentPath);
  const [real, stats] = await Promise.all([fs.realpath(resolved).catch(() => resolved), fs.stat(resolved).catch(() => undefined)]);
  return { path: resolved, real, ...(stats?.isDirectory() && { folder: folderIdentity(stats) }), realOf: new Map() };
}

/**
 * Which environment a backup was made from, as a key: the machine and the path. Two machines may
 * each have their own /srv/trac/main and back it up into one shared folder: those are two
 * environments. Metadata without a host (older backups) counts as this machine's. Paths of this
 * machine are compared once links are resolved; another machine's as recorded.
 */
export async function environmentKey(source: { sourcePath: string; sourceHost?: string }): Promise<string> {
  const host = source.sourceHost ? source.sourceHost.toLowerCase() : thisHost();
  const resolved = path.resolve(source.sourcePath);
  const real = host === thisHost() ? await fs.realpath(resolved).catch(() => resolved) : resolved;
  return `${host}\0${real}`;
}

/**
 * True when the backup belongs to the environment: it was made on this machine (metadata without
 * a host counts as this machine's), and either from the environment's path (as given, or once
 * links are resolved: a restore puts a new folder there, with a new identity) or from the folder
 * that is the environment now (its recorded identity: the environment was renamed or moved within
 * its file system since). Another machine's backup never belongs, whatever its numbers say.
 * The one rule for the tree, the status bar, the schedule, prune (its grouping and --environment),
 * newestBackupFor and an incremental backup's check of its earlier backup. Give an
 * EnvironmentIdentity (identifyEnvironment) to compare many backups with one environment.
 */
export async function isBackupOf(backup: BackupSource, environment: string | EnvironmentIdentity): Promise<boolean> {
  if (!backup.sourcePath || isOtherHost(backup.sourceHost)) {
    return false;
  }
  const wanted = typeof environment === 'string' ? await identifyEnvironment(environment) : environment;
  if (backup.sourceIdentity && wanted.folder && isSameFolder(backup.sourceIdentity, wanted.folder)) {
    return true;
  }
  const recorded = path.resolve(backup.sourcePath);
  if (recorded === wanted.path || recorded === wanted.real) {
    return true;
  }
  let real = wanted.realOf.get(recorded);
  if (!real) {
    real = fs.realpath(recorded).catch(() => undefined);
    wanted.realOf.set(recorded, real);
  }
  return (await real) === wanted.real;
}

/** Same device and inode, and the same birth time where both know one. */
function isSameFolder(a: FolderIdentity, b: FolderIdentity): boolean {
  return (
    a.dev === b.dev && a.ino === b.ino && (a.birthtimeMs === undefined || b.birthtimeMs === undefined || a.birthtimeMs === b.birthtimeMs)
  );
}

/**
 * The backups split by environment, as isBackupOf joins them when the environment is not known
 * (prune of a whole folder): two backups are of one environment when they were made on one
 * machine from one path, or from one folder (its recorded identity), directly or through others:
 * the backups made before a rename and after it are one set. Backups without a source path are
 * left out. Groups keep the order of `backups`.
 */
export async function groupByEnvironment<T extends BackupSource>(backups: readonly T[]): Promise<T[][]> {
  const parent = backups.map((_, index) => index);
  const root = (index: number): number => (parent[index] === index ? index : (parent[index] = root(parent[index])));
  const owner = new Map<string, number>();
  const join = (key: string, index: number) => {
    const other = owner.get(key);
    if (other === undefined) {
      owner.set(key, index);
    } else {
      parent[root(index)] = root(other);
    }
  };
  for (const [index, backup] of backups.entries()) {
    if (!backup.sourcePath) {
      continue;
    }
    const key = await environmentKey({ sourcePath: backup.sourcePath, sourceHost: backup.sourceHost });
    join(key, index);
    const identity = backup.sourceIdentity;
    if (identity) {
      join(`${key.slice(0, key.indexOf('\0'))}\0#${identity.dev}:${identity.ino}:${identity.birthtimeMs ?? ''}`, index);
    }
  }
  const groups = new Map<number, T[]>();
  for (const [index, backup] of backups.entries()) {
    if (backup.sourcePath) {
      groups.set(root(index), [...(groups.get(root(index)) ?? []), backup]);
    }
  }
  return [...groups.values()];
}

/** True when the recorded machine is another one than this. */
export function isOtherHost(host: string | undefined): boolean {
  return !!host && host.toLowerCase() !== thisHost();
}

export interface EnvironmentBackups {
  /** Where its backups are, and where new ones go. */
  folder: string;
  /**
   * Set when the folder is not the environment's default one but a sibling `*-backups` folder
   * that holds its backups (the environment was renamed or moved since they were made): the
   * path the newest of them was made from.
   */
  recordedPath?: string;
  /** Its backups there, newest first (isBackupOf; in a folder of its own also copies without metadata). */
  backups: BackupInfo[];
}

const BACKUPS_SUFFIX = '-backups';

/**
 * An environment's backups and the folder they are in. With a configured folder: the backups of
 * the environment in it. Without: its default folder (defaultBackupFolder), unless that holds
 * none of its backups and a sibling `*-backups` folder in the same parent does (the default
 * folder's name changed with the environment's: it was renamed) — then that one, the one with
 * the newest of them when several do. New backups go there too, so that an environment keeps one
 * folder of backups, incremental backups link from the old ones, and prune counts them all.
 * In a folder of the environment's own, copies without metadata (trac-admin hotcopy, damaged
 * metadata) are its too. Throws when the folder the backups are in cannot be read.
 */
export async function environmentBackups(environmentPath: string, configuredFolder?: string): Promise<EnvironmentBackups> {
  const environment = await identifyEnvironment(environmentPath);
  const inFolder = async (folder: string, own: boolean) => {
    const mine: BackupInfo[] = [];
    for (const backup of await listBackups(folder)) {
      if (backup.sourcePath ? await isBackupOf(backup, environment) : own) {
        mine.push(backup);
      }
    }
    return mine;
  };
  if (configuredFolder !== undefined) {
    return { folder: path.resolve(configuredFolder), backups: await inFolder(configuredFolder, false) };
  }
  const folder = defaultBackupFolder(environmentPath);
  const here = await inFolder(folder, true);
  if (here.length > 0) {
    return { folder, backups: here };
  }
  const parent = path.dirname(folder);
  const siblings = (await fs.readdir(parent, { withFileTypes: true }).catch(() => []))
    .filter((entry) => entry.isDirectory() && entry.name.endsWith(BACKUPS_SUFFIX) && !isWorkName(entry.name))
    .map((entry) => path.join(parent, entry.name))
    .filter((candidate) => candidate !== folder);
  let best: { folder: string; newest: BackupInfo } | undefined;
  for (const candidate of siblings) {
    const [newest] = await inFolder(candidate, false).catch(() => []);
    if (newest && (!best || newest.createdAt > best.newest.createdAt)) {
      best = { folder: candidate, newest };
    }
  }
  if (!best) {
    return { folder, backups: here };
  }
  return { folder: best.folder, recordedPath: best.newest.sourcePath, backups: await inFolder(best.folder, true) };
}

async function describeBackup(dir: string): Promise<BackupInfo | undefined> {
  const stats = await fs.stat(dir).catch(() => undefined);
  if (!stats?.isDirectory()) {
    return undefined;
  }
  const base = { path: dir, name: path.basename(dir), folderIdentity: folderIdentity(stats) };
  const madeAt = new Date(stats.birthtimeMs > 0 ? stats.birthtimeMs : stats.ctimeMs);
  try {
    const manifest = await readManifestHead(dir);
    if (manifest) {
      return {
        ...base,
        kind: 'hotcopy',
        createdAt: new Date(manifest.createdAt),
        bytes: manifest.bytes,
        files: manifest.fileCount,
        projectName: manifest.source.projectName,
        sourcePath: manifest.source.path,
        sourceHost: manifest.source.host || undefined,
        ...(manifest.source.identity && { sourceIdentity: manifest.source.identity }),
        databaseIncluded: manifest.database.included,
        lockMs: manifest.lockMs,
        incremental: manifest.incremental ?? false,
        copiedBytes: manifest.copiedBytes ?? manifest.bytes,
        linkedBytes: manifest.linkedBytes ?? 0,
      };
    }
  } catch (error) {
    return { ...base, kind: 'hotcopy', createdAt: madeAt, ...(await measureFolder(dir, stats)), problem: describeError(error) };
  }
  if (await whyNotAnEnvironment(dir)) {
    return undefined;
  }
  // trac-admin hotcopy copies the environment's mtime onto the folder: the birth or change time says when it was made.
  const environment = await readEnvironment(dir);
  return { ...base, kind: 'trac-admin', createdAt: madeAt, ...(await measureFolder(dir, stats)), projectName: environment.name };
}

/** Sizes of folders without (readable) metadata, by path, with what the folder's stats were then. */
const measured = new Map<string, { stamp: string; files: number; bytes: number }>();
const MEASURED_KEPT = 10_000;

/**
 * Files and bytes of a backup without metadata to say them (a trac-admin copy, a copy a restore
 * kept aside, damaged metadata): walked once, then again only when the folder is another one or
 * changed right inside it (its inode, change or modification time). A refresh does not walk
 * every such copy again.
 */
async function measureFolder(dir: string, stats: Stats): Promise<{ files: number; bytes: number }> {
  const stamp = `${stats.dev}:${stats.ino}:${stats.ctimeMs}:${stats.mtimeMs}`;
  const known = measured.get(dir);
  if (known?.stamp === stamp) {
    return { files: known.files, bytes: known.bytes };
  }
  const size = await measureTree(dir);
  if (measured.size >= MEASURED_KEPT) {
    measured.clear();
  }
  measured.set(dir, { stamp, ...size });
  return size;
}
