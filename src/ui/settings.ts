import * as path from 'node:path';
import * as vscode from 'vscode';
import { RetentionPolicy } from '../core/retention';
import { BackupSchedule } from '../core/scheduler';

export const SECTION = 'tracBackup';

/** The first workspace folder: relative paths in settings are taken from it. */
function baseFolder(): string | undefined {
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
}

function resolvePath(value: string): string | undefined {
  const expanded = value.replace(/^~(?=$|[\\/])/, process.env.HOME ?? '~');
  if (path.isAbsolute(expanded)) {
    return path.normalize(expanded);
  }
  const base = baseFolder();
  return base ? path.resolve(base, expanded) : undefined;
}

function readPaths(key: string): string[] {
  const values = vscode.workspace.getConfiguration(SECTION).get<string[]>(key, []);
  return values
    .filter((value): value is string => typeof value === 'string' && value.trim() !== '')
    .map((value) => resolvePath(value.trim()))
    .filter((value): value is string => value !== undefined);
}

export const settings = {
  environments: (): string[] => readPaths('environments'),
  environmentParents: (): string[] => readPaths('environmentParents'),
  incremental: (): boolean => vscode.workspace.getConfiguration(SECTION).get<boolean>('incremental', true),
  schedule: (): BackupSchedule => vscode.workspace.getConfiguration(SECTION).get<BackupSchedule>('schedule', 'off'),
  retention: (): RetentionPolicy => vscode.workspace.getConfiguration(SECTION).get<RetentionPolicy>('retention', {}),
  verifyAfterBackup: (): boolean => vscode.workspace.getConfiguration(SECTION).get<boolean>('verifyAfterBackup', true),
  searchDepth: (): number => vscode.workspace.getConfiguration(SECTION).get<number>('searchDepth', 3),
  /** The configured backup folder, absolute, or undefined for "beside each environment". */
  backupFolder: (): string | undefined => {
    const value = vscode.workspace.getConfiguration(SECTION).get<string>('backupFolder', '').trim();
    return value ? resolvePath(value) : undefined;
  },

  /** Adds a path to tracBackup.environments, relative to the workspace when it lies inside it. */
  async addEnvironment(envPath: string): Promise<void> {
    const config = vscode.workspace.getConfiguration(SECTION);
    const current = config.get<string[]>('environments', []);
    if (current.some((value) => resolvePath(value) === envPath)) {
      return;
    }
    await config.update('environments', [...current, displayPathForSetting(envPath)], configurationTarget());
  },

  /** Removes every entry of tracBackup.environments that names envPath; says whether one did. */
  async removeEnvironment(envPath: string): Promise<boolean> {
    const config = vscode.workspace.getConfiguration(SECTION);
    const current = config.get<string[]>('environments', []);
    const kept = current.filter((value) => resolvePath(value) !== envPath);
    if (kept.length === current.length) {
      return false;
    }
    await config.update('environments', kept, configurationTarget());
    return true;
  },
};

function displayPathForSetting(envPath: string): string {
  const base = baseFolder();
  if (base) {
    const relative = path.relative(base, envPath);
    if (!relative.startsWith('..') && !path.isAbsolute(relative)) {
      return relative || '.';
    }
  }
  return envPath;
}

function configurationTarget(): vscode.ConfigurationTarget {
  return vscode.workspace.workspaceFolders?.length
    ? vscode.ConfigurationTarget.Workspace
    : vscode.ConfigurationTarget.Global;
}

/** A path as people read it: the home folder as ~. */
export function displayPath(fsPath: string): string {
  const home = process.env.HOME;
  return home && (fsPath === home || fsPath.startsWith(home + path.sep)) ? `~${fsPath.slice(home.length)}` : fsPath;
}
