import * as path from 'node:path';
import { HotcopyProgress } from '../backup/backupProgress';
import { HotcopyOptions, HotcopyResult, hotcopy } from '../backup/hotcopy';
import { isKeptBeforeRestore, chooseFreeBackupPath, newBackupName } from '../catalog/backupNames';
import { newestBackupFor } from '../catalog/backupCatalog';
import { passedSinceMade, recordVerification, verificationOf } from '../catalog/verificationStore';
import { isCancelled } from '../shared/errors';
import { VerifyProgress, VerifyResult, verifyBackup } from '../verify/verify';

/** The backup an incremental backup links from, when its last passed verification began, and what to tell. */
export interface LinkBase {
  linkDest?: string;
  verifiedAt?: string;
  note?: string;
}

/**
 * What an incremental backup links from: the newest backup of this environment (on this machine)
 * in `folder` that passed verification since it was made. A backup nobody verified may hold rot
 * that every later backup would share through its links, so without one the backup is full, and
 * the note says why and how to let the next one link.
 */
export async function chooseLinkBase(environment: string, folder: string): Promise<LinkBase> {
  const verifiedAt = new Map<string, string>();
  const base = await newestBackupFor(folder, environment, async (backup) => {
    const record = isKeptBeforeRestore(backup.name) ? undefined : await verificationOf(backup.path);
    if (passedSinceMade(record)) {
      verifiedAt.set(backup.path, record.verifiedAt);
      return true;
    }
    return false;
  });
  if (base) {
    return { linkDest: base.path, verifiedAt: verifiedAt.get(base.path) };
  }
  const newest = await newestBackupFor(folder, environment);
  return {
    note: newest
      ? `no backup of ${environment} in ${folder} passed verification since it was made, so this is a full backup; ` +
        `run 'trac-backup verify ${newest.path}' (or verify each new backup) to let the next incremental backup link from it.`
      : `no earlier backup of ${environment} in ${folder}, so this is a full backup.`,
  };
}

/** A backup named to link from (--link-dest): its files are trusted unread only when it passed verification since it was made. */
export async function namedLinkBase(linkDest: string): Promise<LinkBase> {
  const record = await verificationOf(linkDest);
  return passedSinceMade(record)
    ? { linkDest, verifiedAt: record.verifiedAt }
    : {
        linkDest,
        note: `${path.resolve(linkDest)} did not pass verification since it was made: each file linked from it was first compared with its checksum.`,
      };
}

export interface BackUpEnvironmentOptions extends Pick<HotcopyOptions, 'includeDatabase' | 'signal' | 'onSwept'> {
  /** The folder backups of the environment go to (a setting, or where its backups are: environmentBackups). */
  folder: string;
  /** Link unchanged files to the newest verified backup (chooseLinkBase). */
  incremental: boolean;
  /** Verify the new backup at once (and record the result for the next incremental backup). */
  verifyAfter: boolean;
  onProgress?: (event: HotcopyProgress | VerifyProgress) => void;
  /** Told once the backup is made and its check begins. */
  onVerifying?: () => void;
}

export interface EnvironmentBackup {
  result: HotcopyResult;
  base: LinkBase;
  /** The check right after; undefined when not asked for, or cancelled (the backup stays, unverified). */
  verified?: VerifyResult;
}

/** Destinations of the backups under way in this process, so that two started in one second get two names. */
const destinationsInUse = new Set<string>();

/**
 * One backup as a person or a schedule asks for it, the same from the extension and the CLI: into
 * `folder` under a new `<environment>-YYYYMMDD-HHMMSS` name (the next free one when another window
 * took it), incremental from the newest verified backup, then verified and the result recorded.
 */
export async function backUpEnvironment(environment: string, options: BackUpEnvironmentOptions): Promise<EnvironmentBackup> {
  const destination = await reserveDestination(options.folder, newBackupName(environment));
  try {
    const base = options.incremental ? await chooseLinkBase(environment, options.folder) : {};
    const result = await hotcopy(environment, destination, {
      includeDatabase: options.includeDatabase,
      signal: options.signal,
      onProgress: options.onProgress,
      onSwept: options.onSwept,
      linkDest: base.linkDest,
      linkDestVerifiedAt: base.verifiedAt,
      // Another window may back the environment up in the same second: the next name, not an error.
      nextFreeName: true,
    });
    if (!options.verifyAfter || options.signal?.aborted) {
      return { result, base };
    }
    options.onVerifying?.();
    try {
      const verified = await verifyBackup(result.dest, { signal: options.signal, onProgress: options.onProgress });
      if (!verified.vanished) {
        await recordVerification(verified);
      }
      return { result, base, verified };
    } catch (error) {
      if (isCancelled(error)) {
        return { result, base }; // cancelling the check leaves a finished backup, just not verified yet
      }
      throw error;
    }
  } finally {
    destinationsInUse.delete(destination);
  }
}

async function reserveDestination(folder: string, name: string): Promise<string> {
  let destination: string;
  do {
    destination = await chooseFreeBackupPath(folder, name, destinationsInUse);
  } while (destinationsInUse.has(destination)); // another backup took it while we looked
  destinationsInUse.add(destination);
  return destination;
}
