import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { whyChangedSinceMadeQuick } from '../catalog/changedSinceMade';
import { whyNotAnEnvironment } from './environment';
import { MANIFEST_FILE, readManifest } from '../catalog/manifest';
import { isKeptBeforeRestore } from '../catalog/backupNames';
import { pathKey } from '../fs/paths';

/** Folders never searched: tool caches, VCS data, dependencies. */
const SKIPPED_FOLDERS = new Set([
  'node_modules',
  '.git',
  '.hg',
  '.svn',
  '__pycache__',
  '.venv',
  'venv',
  '.tox',
  'bower_components',
  '.cache',
]);

/**
 * Whether a search for environments looks into a folder of this name. Hidden folders are tool data
 * or the work folders of backups, restores and archive extractions still under way (whole Trac
 * environments, but not ones to list).
 */
export function isSearchedFolderName(name: string): boolean {
  return !SKIPPED_FOLDERS.has(name) && !name.startsWith('.');
}

export type EnvironmentOrigin = 'workspace' | 'setting' | 'parent';

export interface FoundEnvironment {
  path: string;
  origin: EnvironmentOrigin;
  /** For a path the user named (setting, parent folder) that is not an environment: why. */
  problem?: string;
}

export interface DiscoveryOptions {
  /** Workspace folders, searched down to `depth` levels below them. */
  roots: readonly string[];
  depth: number;
  /** Paths the user listed as environments (absolute). */
  environments: readonly string[];
  /** Folders whose children are environments, like TRAC_ENV_PARENT_DIR (absolute). */
  parents: readonly string[];
}

/**
 * Finds Trac environments. Paths the user named always appear, with a problem when they
 * are not environments, so a typo in a setting is visible rather than silently dropped.
 */
export async function discoverEnvironments(options: DiscoveryOptions): Promise<FoundEnvironment[]> {
  const found = new Map<string, FoundEnvironment>();
  const add = (entry: FoundEnvironment): void => {
    // One entry per environment however its path is spelled (c:\ or C:\, case on Windows and macOS).
    const key = pathKey(entry.path);
    const existing = found.get(key);
    if (!existing || (existing.problem && !entry.problem)) {
      found.set(key, { ...entry, path: existing && !existing.problem ? existing.path : path.resolve(entry.path) });
    }
  };

  for (const root of options.roots) {
    for (const envPath of await searchFolder(root, options.depth)) {
      add({ path: envPath, origin: 'workspace' });
    }
  }
  for (const envPath of options.environments) {
    const problem = await whyNotAnEnvironment(envPath);
    add({ path: envPath, origin: 'setting', problem: problem && `Not a Trac environment: ${problem}.` });
  }
  for (const parent of options.parents) {
    let children: string[];
    try {
      children = (await fs.readdir(parent, { withFileTypes: true }))
        .filter((entry) => entry.isDirectory() || entry.isSymbolicLink())
        .map((entry) => path.join(parent, entry.name));
    } catch (error) {
      add({
        path: parent,
        origin: 'parent',
        problem: `This environment parent folder cannot be read (${(error as NodeJS.ErrnoException).code}). Check the tracBackup.environmentParents setting.`,
      });
      continue;
    }
    for (const child of children.filter((child) => !path.basename(child).startsWith('.')).sort()) {
      if (!(await whyNotAnEnvironment(child)) && !(await isBackup(child)) && !isKeptByRestore(child)) {
        add({ path: child, origin: 'parent' });
      }
    }
  }
  return [...found.values()];
}

/** Environments at root or up to depth levels below it, not descending into environments. */
export async function searchFolder(root: string, depth: number): Promise<string[]> {
  const results: string[] = [];
  const visit = async (dir: string, level: number): Promise<void> => {
    if (!(await whyNotAnEnvironment(dir))) {
      if (!(await isBackup(dir)) && !isKeptByRestore(dir)) {
        results.push(path.resolve(dir));
      }
      return;
    }
    if (level >= depth) {
      return;
    }
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch {
      return; // unreadable folders are skipped during a search; named paths report their problem
    }
    const children = entries
      .filter((entry) => entry.isDirectory() && isSearchedFolderName(entry.name))
      .map((entry) => entry.name)
      .sort();
    for (const name of children) {
      await visit(path.join(dir, name), level + 1);
    }
  };
  await visit(root, 0);
  return results;
}

/** `<env>.before-restore-<stamp>`: an environment a restore moved aside, listed with the backups. */
function isKeptByRestore(dir: string): boolean {
  return isKeptBeforeRestore(path.basename(dir));
}

/**
 * A backup made by this tool carries its metadata file: it is a copy, not an environment to list.
 * Unless it changed since it was made (its database written, a -wal beside it): an environment
 * put back from a backup with tar carries the metadata too, and is listed again once in use.
 */
async function isBackup(dir: string): Promise<boolean> {
  try {
    await fs.access(path.join(dir, MANIFEST_FILE));
  } catch {
    return false;
  }
  const manifest = await readManifest(dir).catch(() => undefined);
  return !manifest || (await whyChangedSinceMadeQuick(dir, manifest)) === undefined;
}
