import { closeSync, openSync } from 'node:fs';
import * as path from 'node:path';
import { ATTACHMENTS_DIR, AttachmentChanges, AttachmentIndex } from '../trac/attachments';
import { errnoCode } from '../shared/errors';
import { TreeEntry, WalkOptions, entryFromStats, entryKind, lstatFollowing } from '../fs/fileTree';
import { sourceError } from '../fs/fsErrors';
import { TreeMirror, needsCopy } from '../fs/treeMirror';

export const inAttachments = (relative: string): boolean => relative === ATTACHMENTS_DIR || relative.startsWith(`${ATTACHMENTS_DIR}/`);

export interface AttachmentPlan {
  /** Entries to create or copy (folders first), and paths to remove from the backup. */
  present: TreeEntry[];
  absent: string[];
  /** Rows whose copy is not known to hold the committed file: copy them again. */
  force: (relative: string) => boolean;
  tag: (relative: string) => string | undefined;
  /** The regular files that will be copied. */
  toCopy: TreeEntry[];
}

/**
 * The attachment paths whose copy in the backup may not match `rows` (path → row signature):
 * rows whose file was not copied while that very row was in the table (new, replaced, moved, or
 * copied before its transaction committed), and copies without a row. Trac writes an
 * attachment's file only inside the transaction that inserts its row, so a file copied after its
 * row was committed is complete. One pass over rows and copies: run it before taking the lock.
 */
export function findSuspects(mirror: TreeMirror, rows: Map<string, string>): string[] {
  const suspects: string[] = [];
  for (const [relative, signature] of rows) {
    const record = mirror.records.get(relative);
    if (!record || record.kind !== 'file' || record.tag !== signature) {
      suspects.push(relative);
    }
  }
  for (const [relative, record] of mirror.records) {
    if (record.kind !== 'directory' && inAttachments(relative) && !rows.has(relative)) {
      suspects.push(relative);
    }
  }
  return suspects;
}

/** What the last look before the lock found: the rows then, and the paths to check again. */
export interface Suspects {
  index: AttachmentIndex;
  rows: Map<string, string>;
  paths: string[];
}

/**
 * Under the lock: the plan for the suspects found before it and the rows changed since.
 * Undefined when the attachment table cannot be read (then every file must be compared).
 */
export function planLockedChanges(
  root: string,
  mirror: TreeMirror,
  suspects: Suspects,
  follow?: WalkOptions['follow'],
): AttachmentPlan | undefined {
  let changes: AttachmentChanges;
  try {
    changes = suspects.index.changes();
  } catch {
    return undefined;
  }
  const { rows: changed, vacated } = changes;
  const current = (relative: string) => changed.get(relative) ?? (vacated.has(relative) ? undefined : suspects.rows.get(relative));
  return planAttachments(root, mirror, [...suspects.paths, ...changed.keys(), ...vacated], current, follow);
}

/**
 * Under Trac's write lock (no Trac transaction is running, so the disk agrees with the table):
 * what makes the backup's attachments agree with the table as it is now. `suspects` are those
 * found before the lock plus the paths of the rows changed since; `current` gives a path's row
 * signature now. Costs a stat per suspect, not a scan of the attachment folders. The links
 * `follow` accepts are folders, as the walk of the tree saw them.
 */
export function planAttachments(
  root: string,
  mirror: TreeMirror,
  suspects: Iterable<string>,
  current: (relative: string) => string | undefined,
  follow?: WalkOptions['follow'],
): AttachmentPlan {
  const { present, absent } = statWithParents(root, [...new Set(suspects)], follow);
  const force = (relative: string) => current(relative) !== undefined;
  const toCopy = present.filter(
    (entry) => entry.kind === 'file' && (force(entry.relative) || needsCopy(mirror.records.get(entry.relative), entry)),
  );
  return { present, absent, force, tag: current, toCopy };
}

/**
 * Opens the files a plan copies, so that they can be read after the lock is released: an open
 * file keeps its content when Trac deletes or replaces it. Synchronous: each open costs
 * microseconds, against a trip through the thread pool. A file gone already is left out.
 */
export function openForCopy(entries: TreeEntry[]): Map<string, number> {
  const descriptors = new Map<string, number>();
  try {
    for (const entry of entries) {
      try {
        descriptors.set(entry.relative, openSync(entry.absolute, 'r'));
      } catch (error) {
        if (errnoCode(error) !== 'ENOENT') {
          throw sourceError(error, entry.absolute);
        }
      }
    }
  } catch (error) {
    closeAll(descriptors);
    throw error;
  }
  return descriptors;
}

/** Closes the descriptors a copy did not use (a copy closes its own). */
export function closeAll(descriptors: Map<string, number>): void {
  for (const fd of descriptors.values()) {
    try {
      closeSync(fd);
    } catch {
      // nothing more to do: it is closed either way
    }
  }
  descriptors.clear();
}

/** lstat of each path and of its parent folders (parents first); what is missing is absent. */
function statWithParents(root: string, relatives: string[], follow: WalkOptions['follow']): { present: TreeEntry[]; absent: string[] } {
  const seen = new Map<string, TreeEntry | undefined>();
  const stat = (relative: string): TreeEntry | undefined => {
    if (seen.has(relative)) {
      return seen.get(relative);
    }
    const absolute = path.join(root, ...relative.split('/'));
    let entry: TreeEntry | undefined;
    try {
      const stats = lstatFollowing(absolute, relative, follow);
      const kind = entryKind(stats);
      entry = kind && entryFromStats(relative, absolute, kind, stats);
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT' && errnoCode(error) !== 'ENOTDIR') {
        throw error;
      }
    }
    seen.set(relative, entry);
    return entry;
  };
  for (const relative of relatives) {
    const parts = relative.split('/');
    let parentsPresent = true;
    for (let depth = 1; depth < parts.length && parentsPresent; depth++) {
      parentsPresent = stat(parts.slice(0, depth).join('/'))?.kind === 'directory';
    }
    if (parentsPresent) {
      stat(relative);
    } else {
      seen.set(relative, undefined);
    }
  }
  const present: TreeEntry[] = [];
  const absent: string[] = [];
  for (const [relative, entry] of [...seen].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (entry) {
      present.push(entry);
    } else {
      absent.push(relative);
    }
  }
  return { present, absent };
}
