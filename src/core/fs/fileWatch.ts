import { existsSync, statSync, watch, type FSWatcher } from 'node:fs';
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

/**
 * What to watch for the given files to be noticed when they appear, change or go: each file's
 * folder for the file, and that folder's parent for the folder (so a file whose folder does not
 * exist yet is noticed once the folder is made, and a folder removed whole is noticed too).
 */
export function interestsInFiles(files: readonly string[]): FolderInterest[] {
  return files.flatMap((file) => [interestIn(file), interestIn(path.dirname(file))]);
}

/** What to watch for one file or folder to be noticed when it appears, changes or goes: its parent, for its name. */
export function interestIn(entry: string): FolderInterest {
  return { folder: path.dirname(entry), names: [path.basename(entry)] };
}

/** One interest per folder, merged, sorted by folder. */
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
  return (
    interest.any === true || (interest.names ?? []).includes(name) || (interest.prefixes ?? []).some((prefix) => name.startsWith(prefix))
  );
}

interface Watched {
  watcher: FSWatcher;
  interest: FolderInterest;
  /** The folder's identity when the watch began: a folder removed and made again needs a new watch. */
  identity: string;
}

/**
 * Calls onChange with the path of each interesting name that is created, changed, replaced or
 * removed. Folders are watched (not files), so an editor's save by rename and a file that does
 * not exist yet are both seen. update() sets what to watch: watches that are still wanted are
 * kept, and a folder that could not be watched (missing, no permission, out of watches) or was
 * replaced since is tried again; onError hears of each one that fails.
 */
export class FolderWatcher {
  private readonly watched = new Map<string, Watched>();

  constructor(
    private readonly onChange: (file: string) => void,
    private readonly onError: (folder: string, error: unknown) => void = () => {},
  ) {}

  /** The folders being watched now. */
  get folders(): string[] {
    return [...this.watched.keys()];
  }

  update(interests: readonly FolderInterest[]): void {
    const wanted = new Map(mergeInterests(interests).map((interest) => [interest.folder, interest]));
    for (const [folder, current] of this.watched) {
      if (!wanted.has(folder) || identityOf(folder) !== current.identity) {
        current.watcher.close();
        this.watched.delete(folder);
      }
    }
    for (const [folder, interest] of wanted) {
      const current = this.watched.get(folder);
      if (current) {
        current.interest = interest;
      } else {
        this.watch(folder, interest);
      }
    }
  }

  close(): void {
    for (const { watcher } of this.watched.values()) {
      watcher.close();
    }
    this.watched.clear();
  }

  private forget(folder: string, watcher: FSWatcher): void {
    watcher.close();
    if (this.watched.get(folder)?.watcher === watcher) {
      this.watched.delete(folder);
    }
  }

  private watch(folder: string, interest: FolderInterest): void {
    try {
      const identity = identityOf(folder);
      const watcher = watch(folder, { persistent: false }, (_event, name) => {
        const entry = this.watched.get(folder);
        if (entry?.watcher !== watcher) {
          return;
        }
        if (name !== null && name.toString() === path.basename(folder) && !existsSync(path.join(folder, name.toString()))) {
          // The folder itself was removed or moved (Linux names it so): this watch sees no more.
          // The next update() watches whatever has its path by then.
          this.forget(folder, watcher);
          this.onChange(folder);
          return;
        }
        // Some platforms leave out the name: then anything in the folder may have changed.
        if (name === null || matches(entry.interest, name.toString())) {
          this.onChange(name === null ? folder : path.join(folder, name.toString()));
        }
      });
      watcher.on('error', (error) => {
        this.forget(folder, watcher);
        this.onError(folder, error);
      });
      this.watched.set(folder, { watcher, interest, identity: identity ?? '' });
    } catch (error) {
      this.onError(folder, error);
    }
  }
}

/** Inode and birth time: an inode number alone is often given again to the next folder made. */
function identityOf(folder: string): string | undefined {
  try {
    const stats = statSync(folder, { bigint: true });
    return `${stats.dev}:${stats.ino}:${stats.birthtimeNs}`;
  } catch {
    return undefined;
  }
}
