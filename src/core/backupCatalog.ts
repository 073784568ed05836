import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readEnvironment, whyNotAnEnvironment } from './environment';
import { describeError, errnoCode } from './errors';
import { measureTree } from './fileTree';
import { readManifest } from './manifest';
import { isWorkName } from './workFolder';

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
  /** Set when the metadata is there but cannot be read: the backup is listed, flagged. */
  problem?: string;
}

/** Where backups of an environment go by default: `<parent>/<name>-backups`, beside it. */
export function defaultBackupFolder(environmentPath: string): string {
  const resolved = path.resolve(environmentPath);
  return path.join(path.dirname(resolved), `${path.basename(resolved)}-backups`);
}

/** `<environment folder name>-YYYYMMDD-HHMMSS`, in local time. */
export function newBackupName(environmentPath: string, date: Date = new Date()): string {
  const two = (value: number) => String(value).padStart(2, '0');
  const day = `${date.getFullYear()}${two(date.getMonth() + 1)}${two(date.getDate())}`;
  const time = `${two(date.getHours())}${two(date.getMinutes())}${two(date.getSeconds())}`;
  return `${path.basename(path.resolve(environmentPath))}-${day}-${time}`;
}

/**
 * folder/baseName, or folder/baseName-2, -3, … : the first that does not exist and is not in
 * `taken` (destinations of backups still running in this process). Never an overwrite.
 */
export async function chooseFreeBackupPath(folder: string, baseName: string, taken: ReadonlySet<string> = new Set()): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const candidate = path.join(folder, attempt === 1 ? baseName : `${baseName}-${attempt}`);
    if (taken.has(candidate)) {
      continue;
    }
    try {
      await fs.lstat(candidate);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') {
        return candidate;
      }
      throw error;
    }
  }
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
  for (const backup of await listBackups(folder)) {
    if (backup.kind === 'hotcopy' && !backup.problem && (await isBackupOf(backup, environmentPath)) && (await accept(backup))) {
      return backup;
    }
  }
  return undefined;
}

/** The machine's name as backups record it (source.host), compared without case as DNS does. */
function thisHost(): string {
  return os.hostname().toLowerCase();
}

/**
 * Which environment a backup was made from, as a key: the machine and the path. Two machines may
 * each have their own /srv/trac/main and back it up into one shared folder: those are two
 * environments. Metadata without a host (older backups) counts as this machine's. Paths of this
 * machine are compared once links are resolved; another machine's as recorded. Prune's grouping,
 * its --environment, newestBackupFor and an incremental backup's check of its earlier backup all
 * go by this.
 */
export async function environmentKey(source: { sourcePath: string; sourceHost?: string }): Promise<string> {
  const host = source.sourceHost ? source.sourceHost.toLowerCase() : thisHost();
  const resolved = path.resolve(source.sourcePath);
  const real = host === thisHost() ? await fs.realpath(resolved).catch(() => resolved) : resolved;
  return `${host}\0${real}`;
}

/** True when the backup was made on this machine from the environment at `environmentPath`. */
export async function isBackupOf(backup: { sourcePath?: string; sourceHost?: string }, environmentPath: string): Promise<boolean> {
  if (!backup.sourcePath) {
    return false;
  }
  const [made, wanted] = await Promise.all([
    environmentKey({ sourcePath: backup.sourcePath, sourceHost: backup.sourceHost }),
    environmentKey({ sourcePath: environmentPath }),
  ]);
  return made === wanted || (made.startsWith(`${thisHost()}\0`) && (await isSameEnvironment(backup.sourcePath, environmentPath)));
}

/** True when the recorded machine is another one than this. */
export function isOtherHost(host: string | undefined): boolean {
  return !!host && host.toLowerCase() !== thisHost();
}

/** True when two paths name the same environment folder: as given, or once links are resolved. */
export async function isSameEnvironment(recorded: string, environmentPath: string): Promise<boolean> {
  const [a, b] = [path.resolve(recorded), path.resolve(environmentPath)];
  if (a === b) {
    return true;
  }
  const [realA, realB] = await Promise.all([a, b].map((file) => fs.realpath(file).catch(() => undefined)));
  return realA !== undefined && realA === realB;
}

async function describeBackup(dir: string): Promise<BackupInfo | undefined> {
  const stats = await fs.stat(dir).catch(() => undefined);
  if (!stats?.isDirectory()) {
    return undefined;
  }
  const base = { path: dir, name: path.basename(dir) };
  const madeAt = new Date(stats.birthtimeMs > 0 ? stats.birthtimeMs : stats.ctimeMs);
  try {
    const manifest = await readManifest(dir);
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
        databaseIncluded: manifest.database.included,
        lockMs: manifest.lockMs,
        incremental: manifest.incremental ?? false,
        copiedBytes: manifest.copiedBytes ?? manifest.bytes,
        linkedBytes: manifest.linkedBytes ?? 0,
      };
    }
  } catch (error) {
    return { ...base, kind: 'hotcopy', createdAt: madeAt, ...(await measureTree(dir)), problem: describeError(error) };
  }
  if (await whyNotAnEnvironment(dir)) {
    return undefined;
  }
  // trac-admin hotcopy copies the environment's mtime onto the folder: the birth or change time says when it was made.
  const environment = await readEnvironment(dir);
  return { ...base, kind: 'trac-admin', createdAt: madeAt, ...(await measureTree(dir)), projectName: environment.name };
}
