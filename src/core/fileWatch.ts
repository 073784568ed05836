import { watch, type FSWatcher } from 'node:fs';
import * as path from 'node:path';

/** Names in one folder whose creation, change, replacement or removal matters. */
export interface FolderInterest {
  folder: string;
  /** Exact names. */
  names?: string[];
  /** Names that start with one of these. */
  prefixes?: string[];
  /** Every name in the folder. */
  any?: boolean;
}

export interface FileWatch {
  close(): void;
}

/**
 * What to watch for the given files to be noticed when they appear, change or go: each file's
 * folder for the file, and that folder's parent for the folder (so a file whose folder does not
 * exist yet is noticed once the folder is made, and a folder removed whole is noticed too).
 */
export function interestsInFiles(files: readonly string[]): FolderInterest[] {
  return files.flatMap((file) => {
    const folder = path.dirname(file);
    return [
      { folder, names: [path.basename(file)] },
      { folder: path.dirname(folder), names: [path.basename(folder)] },
    ];
  });
}

/** One interest per folder, merged; sorted, so that equal sets of interests compare equal as JSON. */
export function mergeInterests(interests: readonly FolderInterest[]): FolderInterest[] {
  const byFolder = new Map<string, { names: Set<string>; prefixes: Set<string>; any: boolean }>();
  for (const interest of interests) {
    const merged = byFolder.get(interest.folder) ?? { names: new Set(), prefixes: new Set(), any: false };
    interest.names?.forEach((name) => merged.names.add(name));
    interest.prefixes?.forEach((prefix) => merged.prefixes.add(prefix));
    merged.any ||= interest.any === true;
    byFolder.set(interest.folder, merged);
  }
  return [...byFolder]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([folder, merged]) =>
      merged.any ? { folder, any: true } : { folder, names: [...merged.names].sort(), prefixes: [...merged.prefixes].sort() },
    );
}

function matches(interest: FolderInterest, name: string): boolean {
  return interest.any === true || (interest.names ?? []).includes(name) || (interest.prefixes ?? []).some((prefix) => name.startsWith(prefix));
}

/**
 * Calls onChange with the path of each interesting name that is created, changed, replaced or
 * removed. Folders are watched (not files), so an editor's save by rename and a file that does
 * not exist yet are both seen. A folder that cannot be watched (missing, no permission, out of
 * watches) is passed to onError and skipped: callers have other ways to notice changes.
 */
export function watchFolders(
  interests: readonly FolderInterest[],
  onChange: (file: string) => void,
  onError: (folder: string, error: unknown) => void = () => {},
): FileWatch {
  const watchers: FSWatcher[] = [];
  for (const interest of mergeInterests(interests)) {
    const { folder } = interest;
    try {
      const watcher = watch(folder, { persistent: false }, (_event, name) => {
        // Some platforms leave out the name: then anything in the folder may have changed.
        if (name === null || matches(interest, name.toString())) {
          onChange(name === null ? folder : path.join(folder, name.toString()));
        }
      });
      watcher.on('error', (error) => onError(folder, error));
      watchers.push(watcher);
    } catch (error) {
      onError(folder, error);
    }
  }
  return {
    close() {
      for (const watcher of watchers.splice(0)) {
        watcher.close();
      }
    },
  };
}
