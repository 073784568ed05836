import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { TreeEntry, walkTree } from '../../src/core/fs/fileTree';

export interface CompareOptions {
  /** Compare file modes without their write bits: a backup's files are read-only copies. */
  ignoreWriteBits?: boolean;
}

/**
 * Lists how copy differs from source: missing or extra entries, kinds, contents, modes,
 * modification times (to the millisecond) and link targets. Empty when they are equal.
 */
export async function compareTrees(
  source: string,
  copy: string,
  ignore: (relative: string) => boolean = () => false,
  options: CompareOptions = {},
): Promise<string[]> {
  const index = async (root: string) =>
    new Map((await walkTree(root)).filter((entry) => !ignore(entry.relative)).map((entry) => [entry.relative, entry]));
  const [left, right] = await Promise.all([index(source), index(copy)]);
  const problems: string[] = [];
  for (const [relative, entry] of left) {
    const other = right.get(relative);
    if (!other) {
      problems.push(`${relative}: missing from the copy`);
    } else {
      problems.push(...(await compareEntries(entry, other, options)).map((problem) => `${relative}: ${problem}`));
    }
  }
  for (const relative of right.keys()) {
    if (!left.has(relative)) {
      problems.push(`${relative}: only in the copy`);
    }
  }
  return problems;
}

async function compareEntries(a: TreeEntry, b: TreeEntry, options: CompareOptions): Promise<string[]> {
  if (a.kind !== b.kind) {
    return [`${a.kind} became ${b.kind}`];
  }
  const problems: string[] = [];
  if (a.kind === 'symlink') {
    const [ta, tb] = await Promise.all([fs.readlink(a.absolute), fs.readlink(b.absolute)]);
    if (ta !== tb) {
      problems.push(`link to ${ta} became a link to ${tb}`);
    }
  } else if (modeOf(a, options) !== modeOf(b, options)) {
    problems.push(`mode ${a.mode.toString(8)} became ${b.mode.toString(8)}`);
  }
  if (Math.floor(a.mtimeMs) !== Math.floor(b.mtimeMs)) {
    problems.push(`mtime ${new Date(a.mtimeMs).toISOString()} became ${new Date(b.mtimeMs).toISOString()}`);
  }
  if (a.kind === 'file' && (a.size !== b.size || (await sha256(a.absolute)) !== (await sha256(b.absolute)))) {
    problems.push('content differs');
  }
  return problems;
}

function modeOf(entry: TreeEntry, options: CompareOptions): number {
  return options.ignoreWriteBits && entry.kind === 'file' ? entry.mode & ~0o222 : entry.mode;
}

export async function sha256(file: string): Promise<string> {
  return createHash('sha256')
    .update(await fs.readFile(file))
    .digest('hex');
}

/** path → sha256 (files), link target (links), 'dir' (folders): to check that a tree was not changed. */
export async function fingerprintTree(root: string, ignore: (relative: string) => boolean = () => false): Promise<Map<string, string>> {
  const result = new Map<string, string>();
  for (const entry of await walkTree(root)) {
    if (ignore(entry.relative)) {
      continue;
    }
    const value =
      entry.kind === 'file'
        ? `${await sha256(entry.absolute)} ${entry.mode.toString(8)} ${Math.floor(entry.mtimeMs)}`
        : entry.kind === 'symlink'
          ? `-> ${await fs.readlink(entry.absolute)}`
          : `dir ${entry.mode.toString(8)}`;
    result.set(entry.relative, value);
  }
  return result;
}
