import * as path from 'node:path';
import type { ArchiveProgress } from '../archive/exportArchive';
import { withExtractedArchive } from '../archive/extractArchive';
import { ArchiveLimits } from '../archive/archiveLimits';
import { TracBackupError } from '../shared/errors';
import { makeFolders, removeMadeFolders } from '../fs/fsErrors';
import { canKeepOwners } from '../fs/owners';
import { RestoreOptions, RestoreProgress, RestoreResult, restoreFrom } from '../restore/restore';
import { parseWorkName } from '../work/workFolder';

export interface RestoreFromArchiveOptions extends Omit<RestoreOptions, 'onProgress'> {
  /** The unpacking's progress ('extract'), then the restore's. */
  onProgress?: (event: RestoreProgress | ArchiveProgress) => void;
  /** Any limit left out keeps its default (DEFAULT_ARCHIVE_LIMITS). */
  limits?: Partial<ArchiveLimits>;
  /** Called for each unpacked archive a killed process had left beside the environment, removed first. */
  onSwept?: (folder: string) => void;
}

/**
 * Restores the backup in a .tar.gz (made by `trac-backup archive`, or by tar from a backup
 * folder) to `environmentPath`. The archive is untrusted: it is unpacked with every check
 * (withExtractedArchive) into a private folder beside the environment, then restored as a backup
 * folder is (checked against its metadata and its database, never writing a database to a path
 * outside the environment that the metadata alone names), except that the unpacked tree, which
 * is this restore's own and on the environment's file system, is moved into place rather than
 * copied: the environment's disk needs room for one copy of the backup, not two. Whatever
 * happens, the unpacked folder is removed; errors and the result name the archive.
 */
export async function restoreFromArchive(
  archiveFile: string,
  environmentPath: string,
  options: RestoreFromArchiveOptions = {},
): Promise<RestoreResult> {
  const archive = path.resolve(archiveFile);
  const environment = path.resolve(environmentPath);
  const parent = path.dirname(environment);
  const made = await makeFolders(parent, 'restore');
  const keepOwners = options.keepOwners ?? canKeepOwners();
  try {
    return await withExtractedArchive(
      archive,
      async (root) => {
        try {
          return await restoreFrom({ folder: root, archive }, environment, { ...options, keepOwners });
        } catch (error) {
          throw withoutUnpackedFolder(error, root, archive);
        }
      },
      {
        tempParent: parent,
        signal: options.signal,
        onProgress: options.onProgress,
        limits: options.limits,
        keepOwners,
        onSwept: options.onSwept,
      },
    );
  } catch (error) {
    await removeMadeFolders(made);
    throw error;
  }
}

/**
 * The unpacked folder is gone by the time a message is read: a path in it becomes the entry of
 * the archive it is (`'conf/trac.ini' in the archive …`), the folder itself the archive.
 */
function withoutUnpackedFolder(error: unknown, root: string, archive: string): unknown {
  const unpacked = unpackFolderOf(root);
  if (!(error instanceof TracBackupError) || !unpacked || !error.message.includes(unpacked)) {
    return error;
  }
  const inside = new RegExp(`${escapeRegExp(root + path.sep)}([^\\s:;,()'"]+)`, 'g');
  const message = error.message
    .replace(inside, (_match, relative: string) => `'${relative.split(path.sep).join('/')}' in the archive ${archive}`)
    .replace(new RegExp(`${escapeRegExp(unpacked)}\\S*`, 'g'), `the archive ${archive}`);
  const named = error.path?.startsWith(unpacked) ? archive : error.path;
  const reworded = new TracBackupError(error.code, message, named, { cause: error });
  return reworded;
}

/** The unpack work folder (see workFolder.ts) that holds `root`. */
function unpackFolderOf(root: string): string | undefined {
  for (let dir = root; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (parseWorkName(path.basename(dir))?.purpose === 'unpack') {
      return dir;
    }
  }
  return undefined;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
