import * as path from 'node:path';
import * as vscode from 'vscode';
import { BackupSchedule, expandHome, readRetentionSetting, RetentionPolicy } from '../core';

export const SECTION = 'tracBackup';

/** The button that opens tracBackup.retention in the Settings editor. */
export const OPEN_RETENTION_SETTING = 'Open Retention Setting';

/** The first workspace folder: relative paths in the workspace's and the user's settings are taken from it. */
function baseFolder(): string | undefined {
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
}

function resolvePath(value: string, base: string | undefined): string | undefined {
  const expanded = expandHome(value);
  if (path.isAbsolute(expanded)) {
    return path.normalize(expanded);
  }
  return base ? path.resolve(base, expanded) : undefined;
}

/**
 * The settings as they apply to an environment: read for the workspace folder that holds it, so
 * that the folder's own `.vscode/settings.json` counts (the path, schedule and retention settings
 * are `resource`-scoped), with relative paths taken from that folder. An environment outside every
 * workspace folder (or none given) gets the workspace's and the user's, relative to the first
 * workspace folder.
 */
function scopedTo(environment: string | undefined): {
  config: vscode.WorkspaceConfiguration;
  base: string | undefined;
  folder?: vscode.WorkspaceFolder;
} {
  const folder = environment ? vscode.workspace.getWorkspaceFolder(vscode.Uri.file(environment)) : undefined;
  return folder
    ? { config: vscode.workspace.getConfiguration(SECTION, folder.uri), base: folder.uri.fsPath, folder }
    : { config: vscode.workspace.getConfiguration(SECTION, null), base: baseFolder() };
}

/**
 * Paths listed in `key` (environments, environmentParents): the workspace's and the user's,
 * relative to the first workspace folder, and each workspace folder's own, relative to it.
 */
function readPaths(key: string): string[] {
  const found: string[] = [];
  const add = (values: unknown, base: string | undefined) => {
    for (const value of Array.isArray(values) ? values : []) {
      const resolved = typeof value === 'string' && value.trim() !== '' ? resolvePath(value.trim(), base) : undefined;
      if (resolved !== undefined) {
        found.push(resolved);
      }
    }
  };
  add(vscode.workspace.getConfiguration(SECTION, null).get<unknown>(key, []), baseFolder());
  // An untrusted workspace's own values of these settings are not used (restrictedConfigurations).
  for (const folder of vscode.workspace.isTrusted ? (vscode.workspace.workspaceFolders ?? []) : []) {
    if (folder.uri.scheme === 'file') {
      add(vscode.workspace.getConfiguration(SECTION, folder.uri).inspect<unknown>(key)?.workspaceFolderValue, folder.uri.fsPath);
    }
  }
  return [...new Set(found)];
}

/** tracBackup.retention as it applies to an environment: a policy, or why the setting is not one. */
export type RetentionSetting = { policy: RetentionPolicy; invalid?: undefined } | { policy?: undefined; invalid: string };

export const settings = {
  environments: (): string[] => readPaths('environments'),
  environmentParents: (): string[] => readPaths('environmentParents'),
  incremental: (): boolean => vscode.workspace.getConfiguration(SECTION, null).get<boolean>('incremental', true),
  /** The schedule of this environment (its folder's setting, else the workspace's or the user's). */
  schedule: (environment?: string): BackupSchedule => scopedTo(environment).config.get<BackupSchedule>('schedule', 'off'),
  /**
   * The retention policy of this environment, read strictly once (readRetentionSetting): when it
   * is not valid, `invalid` says so in one line naming the setting, where it is set, the rule and
   * its value as written; nothing may then be pruned by it.
   */
  retention: (environment?: string): RetentionSetting => {
    const { config, folder } = scopedTo(environment);
    const read = readRetentionSetting(config.get<unknown>('retention', {}));
    if ('policy' in read) {
      return { policy: read.policy };
    }
    const inspected = config.inspect<unknown>('retention');
    const where =
      folder && inspected?.workspaceFolderValue !== undefined && vscode.workspace.workspaceFile
        ? `the settings of the folder ${folder.name}`
        : inspected?.workspaceValue !== undefined
          ? 'the workspace settings'
          : 'your user settings';
    return {
      invalid: `The setting tracBackup.retention in ${where} is not valid: ${read.problem}. Nothing is pruned by it until it is fixed.`,
    };
  },
  /**
   * Whether the settings alone ask for the list at startup, before any view is shown: a schedule
   * on (the workspace's, the user's or a folder's own), or environments named in
   * tracBackup.environments or environmentParents (which need no Trac in the workspace folder).
   */
  needListAtStartup: (): boolean => {
    const scopes = [null, ...(vscode.workspace.workspaceFolders ?? []).map((folder) => folder.uri)];
    const scheduled = scopes.some((scope) => vscode.workspace.getConfiguration(SECTION, scope).get<string>('schedule', 'off') !== 'off');
    return scheduled || readPaths('environments').length > 0 || readPaths('environmentParents').length > 0;
  },
  verifyAfterBackup: (): boolean => vscode.workspace.getConfiguration(SECTION, null).get<boolean>('verifyAfterBackup', true),
  searchDepth: (): number => vscode.workspace.getConfiguration(SECTION, null).get<number>('searchDepth', 3),
  /**
   * The backup folder configured for this environment (its folder's setting, a relative path
   * taken from that folder), absolute; undefined for "beside each environment".
   */
  backupFolder: (environment?: string): string | undefined => {
    const { config, base } = scopedTo(environment);
    const value = config.get<unknown>('backupFolder', '');
    return typeof value === 'string' && value.trim() ? resolvePath(value.trim(), base) : undefined;
  },

  /** Adds a path to tracBackup.environments, relative to the workspace when it lies inside it. */
  async addEnvironment(envPath: string): Promise<void> {
    const config = vscode.workspace.getConfiguration(SECTION, null);
    const current = config.get<string[]>('environments', []);
    if (current.some((value) => resolvePath(value, baseFolder()) === envPath)) {
      return;
    }
    await config.update('environments', [...current, displayPathForSetting(envPath)], configurationTarget());
  },

  /** Removes every entry of tracBackup.environments that names envPath; says whether one did. */
  async removeEnvironment(envPath: string): Promise<boolean> {
    const config = vscode.workspace.getConfiguration(SECTION, null);
    const current = config.get<string[]>('environments', []);
    const kept = current.filter((value) => resolvePath(value, baseFolder()) !== envPath);
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
  return vscode.workspace.workspaceFolders?.length ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
}

/** A path as people read it: the home folder as ~. */
export function displayPath(fsPath: string): string {
  const home = process.env.HOME;
  return home && (fsPath === home || fsPath.startsWith(home + path.sep)) ? `~${fsPath.slice(home.length)}` : fsPath;
}
