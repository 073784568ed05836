import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { readUnshared } from '../sqlite/databaseCheck';
import { readEnvironment } from '../trac/environment';
import { EnvironmentChanges, changesSince, latestChange } from '../trac/environmentChanges';
import { measureTree } from '../fs/fileTree';
import { BackupManifest, readManifest } from '../catalog/manifest';
import { placeExternalDatabase } from './databasePlacement';
import type { LiveTracReport } from '../trac/liveTrac';
import { RestoreLeftover, findRestoreLeftovers } from '../work/restoreLeftovers';
import { chooseAsidePath } from '../catalog/backupNames';
import { RestoreTarget, inspectTarget, requireBackupFolder, restoreWarnings } from './restoreTarget';
import { retryWhileBusy, withReadOnlyDatabase } from '../sqlite/sqlite';
import { ServerRestorePlan, findServerDump, planServerRestore } from './serverRestore';

export type { EnvironmentChanges } from '../trac/environmentChanges';

/** What a restore would do, for a prompt to show before anything happens. */
export interface RestorePlan {
  /** The backup folder, or the archive it is restored from. */
  backup: string;
  environment: string;
  /** 'hotcopy': made by this tool; 'trac-admin': a plain copy without metadata. */
  backupKind: 'hotcopy' | 'trac-admin';
  /** When the backup was made (ISO 8601): from its metadata, else its newest ticket or wiki change, else the folder's date. */
  backupCreatedAt: string;
  projectName?: string;
  /** What is at the environment path now. */
  target: RestoreTarget['state'];
  /** The files and bytes now at the environment path, which would be moved aside. */
  replaced: { files: number; bytes: number };
  /** What the backup holds (its metadata file left out). */
  restored: { files: number; bytes: number };
  /** Where the current environment would be kept; null when nothing would be replaced. */
  aside: string | null;
  /**
   * An external database the backup holds, restored to its own path: only over an environment
   * whose trac.ini names that file (see placeExternalDatabase).
   */
  database: { file: string; exists: boolean; aside: string | null } | null;
  /** An external database the backup holds, restored inside the environment instead; `backedUpFrom` is not touched. */
  databaseInside: { file: string; backedUpFrom: string } | null;
  /** What the restore will not bring back (a database not in the backup), to say before it happens. */
  warnings: string[];
  /** Set when the restore itself asks (RestoreOptions.confirm) and looked for a Trac using the environment. */
  live?: LiveTracReport;
  /** Whether the current environment's database has ticket or wiki changes newer than the backup; undefined when unknown. */
  changedSinceBackup?: EnvironmentChanges;
  /** What killed restores left, which the restore will deal with first. */
  leftovers: RestoreLeftover[];
  /** A PostgreSQL or MySQL/MariaDB database the restore replaces: server, database, what it holds now against the backup. */
  serverDatabase?: ServerRestorePlan;
}

/**
 * Describes what restore(backup, environment) would do now, changing nothing: what it would
 * replace and where that would be kept, the backup's date, and whether the environment changed
 * after the backup. Whether Trac is running is detectLiveTrac's answer.
 */
export async function describeRestore(
  backupPath: string,
  environmentPath: string,
  options: { now?: Date; shownAs?: string; databaseNote?: string; serverPlan?: ServerRestorePlan } = {},
): Promise<RestorePlan> {
  const backup = path.resolve(backupPath);
  const environment = path.resolve(environmentPath);
  const now = options.now ?? new Date();
  await requireBackupFolder(backup);
  const manifest = await readManifest(backup);
  const target = await inspectTarget(environment);
  const replacing = target.state === 'environment' || target.state === 'other';
  const placement = await placeExternalDatabase(manifest, environment, target);
  const ownPath = placement?.where === 'own-path' ? placement.database.file : undefined;
  const ownPathExists = ownPath
    ? await fs.lstat(ownPath).then(
        () => true,
        () => false,
      )
    : false;
  const createdAt = await backupDate(backup, manifest);
  const restored = manifest ? { files: manifest.fileCount, bytes: manifest.bytes } : await measureTree(backup);
  const aside = replacing ? await chooseAsidePath(environment, now) : null;
  const serverPlan = options.serverPlan ?? (await planServerDatabase(backup, manifest, environment, now));
  return {
    backup: options.shownAs ?? backup,
    environment,
    backupKind: manifest ? 'hotcopy' : 'trac-admin',
    backupCreatedAt: createdAt.toISOString(),
    projectName: manifest?.source.projectName ?? (await readEnvironment(backup)).name,
    target: target.state,
    replaced: replacing ? await measureTree(environment) : { files: 0, bytes: 0 },
    restored,
    aside,
    database: ownPath
      ? { file: ownPath, exists: ownPathExists, aside: ownPathExists ? await chooseAsidePath(ownPath, now, true) : null }
      : null,
    databaseInside: placement?.where === 'inside' ? { file: placement.file, backedUpFrom: placement.backedUpFrom } : null,
    warnings: serverPlan ? [] : restoreWarnings(manifest, options.databaseNote, environment, aside, 'before'),
    ...(serverPlan && { serverDatabase: serverPlan }),
    changedSinceBackup: replacing ? await readChanges(target.database, createdAt) : undefined,
    leftovers: await findRestoreLeftovers(environment, target.database ? [target.database] : []),
  };
}

async function backupDate(backup: string, manifest: BackupManifest | undefined): Promise<Date> {
  if (manifest) {
    return new Date(manifest.createdAt);
  }
  const found = await readEnvironment(backup);
  if (found.database?.kind === 'sqlite' && !found.database.external) {
    try {
      const latest = readUnshared(found.database.file, (db) => latestChange(db));
      if (latest) {
        return latest;
      }
    } catch {
      // fall back to the folder's date
    }
  }
  // trac-admin hotcopy gives the folder the environment's mtime: when it was made is its birth (or change) time.
  const stats = await fs.stat(backup);
  return new Date(stats.birthtimeMs > 0 ? stats.birthtimeMs : stats.ctimeMs);
}

/** How long the prompt waits for a database Trac keeps locked before leaving its changes unknown. */
export const CHANGES_WAIT_MS = 500;

async function readChanges(databaseFile: string | undefined, since: Date): Promise<EnvironmentChanges | undefined> {
  if (!databaseFile) {
    return undefined;
  }
  try {
    // The live database: Trac may have it open, so no side file is ever removed here.
    return await retryWhileBusy(databaseFile, () => withReadOnlyDatabase(databaseFile, (db) => changesSince(db, since)), {
      timeoutMs: CHANGES_WAIT_MS,
    });
  } catch {
    return undefined;
  }
}

/**
 * What a restore would do to the server database of a PostgreSQL or MySQL backup, when the caller
 * asks before restoring (the extension): the same plan the restore makes, at the same `now`.
 */
async function planServerDatabase(
  backup: string,
  manifest: BackupManifest | undefined,
  environment: string,
  now: Date,
): Promise<ServerRestorePlan | undefined> {
  const dump = await findServerDump(backup, manifest);
  return dump ? (await planServerRestore(dump, environment, { now })).plan : undefined;
}
