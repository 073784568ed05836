import { watch, type FSWatcher } from 'node:fs';
import * as path from 'node:path';

export interface FileWatch {
  close(): void;
}

/**
 * Calls onChange when any of the given files is created, changed, replaced or removed. Each
 * file's folder is watched (not the file itself), so an editor's save by rename and a file that
 * does not exist yet are both seen. A folder that cannot be watched (missing, no permission, out
 * of watches) is passed to onError and skipped: the caller has other ways to notice changes.
 */
export function watchFiles(
  files: readonly string[],
  onChange: (file: string) => void,
  onError: (folder: string, error: unknown) => void = () => {},
): FileWatch {
  const namesByFolder = new Map<string, Set<string>>();
  for (const file of files) {
    const folder = path.dirname(file);
    namesByFolder.set(folder, (namesByFolder.get(folder) ?? new Set()).add(path.basename(file)));
  }
  const watchers: FSWatcher[] = [];
  for (const [folder, names] of namesByFolder) {
    try {
      const watcher = watch(folder, { persistent: false }, (_event, name) => {
        // Some platforms leave out the name; then any of the folder's files may have changed.
        const changed = name === null ? [...names] : names.has(name.toString()) ? [name.toString()] : [];
        for (const one of changed) {
          onChange(path.join(folder, one));
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
