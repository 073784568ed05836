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
