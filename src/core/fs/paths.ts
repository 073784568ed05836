import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { errnoCode } from '../shared/errors';

/**
 * `~` and `~/…` (or `~\…`) with the home folder: os.homedir(), which needs no HOME (unset on
 * Windows, where it is USERPROFILE); `~user` is left as it is.
 */
export function expandHome(value: string, home: string = os.homedir()): string {
  return value.replace(/^~(?=$|[\\/])/, () => home);
}

/** True when `child` lies strictly inside `parent` (compared as given: pass real paths to see through links). */
export function isInside(child: string, parent: string): boolean {
  const relative = path.relative(parent, child);
  return relative !== '' && !relative.startsWith(`..${path.sep}`) && relative !== '..' && !path.isAbsolute(relative);
}

/** realpath of the longest existing prefix, with the missing rest appended. */
export async function realpathAllowingMissing(file: string): Promise<string> {
  const missing: string[] = [];
  let current = file;
  for (;;) {
    try {
      return path.join(await fs.realpath(current), ...missing.reverse());
    } catch (error) {
      const parent = path.dirname(current);
      if (!['ENOENT', 'ENOTDIR'].includes(errnoCode(error) ?? '') || parent === current) {
        throw error;
      }
      missing.push(path.basename(current));
      current = parent;
    }
  }
}

/** True when two paths name the same file once links are resolved (a missing one as if it were there). */
export async function sameRealPath(a: string, b: string): Promise<boolean> {
  const real = (file: string) => realpathAllowingMissing(file).catch(() => path.resolve(file));
  const [realA, realB] = await Promise.all([real(a), real(b)]);
  return realA === realB;
}

/** A relative '/'-separated path (from metadata, an archive) that stays inside its root. */
export function isSafeRelative(relative: string): boolean {
  const windowsOnly = process.platform === 'win32' && (/^[a-zA-Z]:/.test(relative) || relative.includes('\\'));
  if (relative === '' || relative.startsWith('/') || windowsOnly) {
    return false;
  }
  return relative.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
}

/** How a volume compares names: Windows and macOS volumes are case-insensitive by default. */
export function caseInsensitiveByDefault(platform: NodeJS.Platform = process.platform): boolean {
  return platform === 'win32' || platform === 'darwin';
}

/**
 * The one identity of a path, for comparing two of them: resolved and normalized, the drive
 * letter upper-cased on Windows (VS Code gives `c:\\…`, a shell or a setting `C:\\…`), and case
 * folded where names are case-insensitive (Windows, macOS by default). Pass real paths (realpath)
 * to see through links; pathIdentity does.
 */
export function pathKey(file: string, options: { platform?: NodeJS.Platform; caseInsensitive?: boolean } = {}): string {
  const platform = options.platform ?? process.platform;
  const flavour = platform === 'win32' ? path.win32 : path.posix;
  let key = flavour.resolve(file);
  if (platform === 'win32') {
    key = key.replace(/^[a-z]:/, (drive) => drive.toUpperCase());
  }
  return (options.caseInsensitive ?? caseInsensitiveByDefault(platform)) ? key.normalize('NFC').toLowerCase() : key;
}

/** True when two paths name the same place by pathKey. */
export function samePathKey(a: string, b: string, options?: { platform?: NodeJS.Platform; caseInsensitive?: boolean }): boolean {
  return pathKey(a, options) === pathKey(b, options);
}

/** pathKey of the real path (links resolved; a missing rest kept as given). */
export async function pathIdentity(file: string): Promise<string> {
  return pathKey(await realpathAllowingMissing(file).catch(() => path.resolve(file)));
}

/** What onDiskSpelling reads (a test gives a volume of its own). */
export interface SpellingLookup {
  readdir(dir: string): Promise<string[]>;
  lstat(file: string): Promise<{ ino: number; dev: number }>;
}

const realLookup: SpellingLookup = { readdir: (dir) => fs.readdir(dir), lstat: (file) => fs.lstat(file) };

/**
 * `relative` ('/' separated, under root) as the folder's entries spell it. On a case-insensitive
 * volume `db/Trac.db` (as trac.ini may say) opens `db/trac.db`, which a walk of the folder lists
 * under its own name: compared as strings the two would be two files, and the live database would
 * be copied raw beside its snapshot. Each part missing by its exact name but found by the volume
 * is replaced by the entry that is the same file; parts that do not exist are kept as given.
 */
export async function onDiskSpelling(root: string, relative: string, lookup: SpellingLookup = realLookup): Promise<string> {
  const parts = relative.split('/');
  const spelled: string[] = [];
  for (const [index, part] of parts.entries()) {
    const dir = path.join(root, ...spelled);
    const names = await lookup.readdir(dir).catch(() => undefined);
    if (!names || names.includes(part)) {
      spelled.push(part, ...(names ? [] : parts.slice(index + 1)));
      if (!names) {
        break;
      }
      continue;
    }
    const found = await lookup.lstat(path.join(dir, part)).catch(() => undefined);
    let match: string | undefined;
    if (found) {
      for (const name of names.filter((candidate) => candidate.toLowerCase() === part.toLowerCase())) {
        const stats = await lookup.lstat(path.join(dir, name)).catch(() => undefined);
        if (stats && stats.ino === found.ino && stats.dev === found.dev) {
          match = name;
          break;
        }
      }
    }
    spelled.push(match ?? part);
  }
  return spelled.join('/');
}
