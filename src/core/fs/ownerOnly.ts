import * as path from 'node:path';
import { fsPlatform } from './retry';

/**
 * Files and folders Trac Backup makes readable by their owner only (mode 0600 or 0700): an
 * archive (the whole Trac database, wherever the user writes it), the private folders an archive
 * or an offsite snapshot is unpacked into (beside the environment), and restic's password file
 * (under the temporary folder).
 *
 * On Windows the mode bits mean nothing: Node sets or clears only the read-only attribute, and a
 * new file or folder gets the permissions (ACL) inherited from the folder it is made in. So there
 * an archive is as private as its folder, and the user is told so. An unpack folder is beside the
 * environment, so it inherits what the environment's own folder (with its database) allows: it
 * opens nothing new. The temporary folder is under the user's profile, which only that user (and
 * administrators) can read by default.
 */
export type OwnerOnlyKind = 'archive' | 'unpack folder' | 'password file';

/** True where mode 0600/0700 keeps other users out (POSIX); false on Windows (see above). */
export function modeKeepsOthersOut(platform: NodeJS.Platform = fsPlatform()): boolean {
  return platform !== 'win32';
}

/**
 * What to tell the user about `file` (of `kind`) being owner-only: on Windows, for an archive,
 * that it has its folder's permissions and holds the whole database; undefined where the mode
 * holds, and for what inherits nothing new (an unpack folder beside the environment, the
 * password file in the user's own temporary folder).
 */
export function ownerOnlyWarning(kind: OwnerOnlyKind, file: string, platform: NodeJS.Platform = fsPlatform()): string | undefined {
  if (modeKeepsOthersOut(platform) || kind !== 'archive') {
    return undefined;
  }
  const folder = (platform === 'win32' ? path.win32 : path).dirname(file);
  return (
    `${file} holds the whole Trac database, and on Windows it is not made readable by you only: it has the permissions ` +
    `of ${folder}. Keep archives in a folder only you can read (one under your user profile), or check who may read that folder.`
  );
}
