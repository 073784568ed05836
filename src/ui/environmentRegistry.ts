import { readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  BackupInfo,
  defaultBackupFolder,
  describeError,
  discoverEnvironments,
  DiskUsageCache,
  environmentBackups,
  EnvironmentDetails,
  FolderInterest,
  FolderWatcher,
  FoundEnvironment,
  interestIn,
  interestsInFiles,
  isRestoreJournalName,
  isSearchedFolderName,
  isWorkName,
  keptBeforeRestorePrefix,
  listBackups,
  plural,
  readEnvironment,
  readEnvironmentDetails,
  runtimeDescription,
  TracEnvironment,
  samePathKey,
} from '../core';
import { SECTION, settings } from './settings';

export interface ListedEnvironment {
  found: FoundEnvironment;
  environment: TracEnvironment;
  /** Problems from discovery and from reading the files, for the row's tooltip. */
  problems: string[];
  details?: EnvironmentDetails;
  /** Where this environment's backups go, and those found there, newest first. */
  backupFolder: string;
  /**
   * Set when backupFolder is not the default folder's name but the sibling folder that holds its
   * backups (see environmentBackups): the path they were made from.
   */
  backupFolderRecordedPath?: string;
  backups: BackupInfo[];
  /**
   * Disk used by all its backups, files shared through hard links counted once; undefined until
   * measured (off the listing's path: a new backup is walked once, after the rows show).
   */
  backupsDiskBytes?: number;
}

const HIDDEN_KEY = 'tracBackup.hiddenEnvironments';
const REFRESH_DELAY_MS = 300;

/**
 * The environments the tree shows: found in the workspace, named in settings, or under
 * parent folders. Re-discovers when settings, workspace folders, or any VERSION or
 * trac.ini change, and tells listeners.
 */
export class EnvironmentRegistry implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;

  private listed: ListedEnvironment[] = [];
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private watchesPaused = 0;
  private roots: string[] = [];
  private readonly folderWatcher = new FolderWatcher(
    (file) => {
      if (!this.isPlainFileInRoot(file)) {
        this.fileChanged(vscode.Uri.file(file));
      }
    },
    (folder, error) => this.log.debug(`Not watching ${folder} for now: ${describeError(error)}`),
  );
  private bindingWarned = false;
  private sqliteLayerLogged = false;
  private signature = '';
  private discovered = false;
  private firstDiscovered!: () => void;
  /** Resolves when the first discovery is done (the schedule and the sweep of leftovers wait for it). */
  readonly firstDiscovery = new Promise<void>((resolve) => (this.firstDiscovered = resolve));
  /** The paths the last discovery found, to log at info level only when they change. */
  private foundPaths = '';
  private readonly diskUsage = new DiskUsageCache();
  private measuring: Promise<void> | undefined;
  private remeasure = false;
  private readonly disposed = new AbortController();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly state: vscode.Memento,
    private readonly log: vscode.LogOutputChannel,
  ) {
    const watcher = vscode.workspace.createFileSystemWatcher('**/{VERSION,conf/trac.ini}');
    this.disposables.push(
      watcher,
      watcher.onDidCreate((uri) => this.fileChanged(uri)),
      watcher.onDidChange((uri) => this.fileChanged(uri)),
      watcher.onDidDelete((uri) => this.fileChanged(uri)),
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration(SECTION)) {
          this.scheduleRefresh('settings changed');
        }
      }),
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.scheduleRefresh('workspace folders changed')),
      this.changed,
    );
  }

  get environments(): readonly ListedEnvironment[] {
    return this.listed;
  }

  find(envPath: string): ListedEnvironment | undefined {
    return this.listed.find((entry) => samePathKey(entry.environment.path, envPath));
  }

  /**
   * Resolves once the environments are listed: activation does no discovery (a window without
   * Trac pays nothing), so the first caller that needs the list (the view shown, a command, the
   * schedule) starts the first one.
   */
  async ready(): Promise<void> {
    if (!this.discovered && !this.running) {
      await this.refresh();
      return;
    }
    await this.running;
  }

  /** True once a discovery has run (the list means something). */
  get started(): boolean {
    return this.discovered || this.running !== undefined;
  }

  /** Runs discovery now (or once more after the one under way) and resolves when it is done. */
  refresh(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.discover();
      } while (this.again);
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  async hide(envPath: string): Promise<void> {
    const removedFromSetting = await settings.removeEnvironment(envPath);
    if (!removedFromSetting || this.find(envPath)?.found.origin !== 'setting') {
      const hidden = new Set(this.hiddenPaths());
      hidden.add(envPath);
      await this.state.update(HIDDEN_KEY, [...hidden]);
    }
    await this.refresh();
  }

  async add(envPath: string): Promise<void> {
    await this.state.update(
      HIDDEN_KEY,
      this.hiddenPaths().filter((hidden) => hidden !== envPath),
    );
    await settings.addEnvironment(envPath);
    await this.refresh();
  }

  private hiddenPaths(): string[] {
    return this.state.get<string[]>(HIDDEN_KEY, []);
  }

  private fileChanged(uri: vscode.Uri): void {
    // Backups, restores and archive extractions build in hidden work folders, whose every VERSION
    // and trac.ini would otherwise refresh the list again and again; archives are never listed.
    const inWorkFolder = uri.fsPath
      .split(/[\\/]/)
      .some((segment) => isWorkName(segment) || isRestoreJournalName(segment) || /\.(tar\.gz|tgz)$/.test(segment));
    if (!inWorkFolder) {
      this.scheduleRefresh(`${uri.fsPath} changed`);
    }
  }

  private scheduleRefresh(reason: string): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.log.debug(`Refreshing environments: ${reason}`);
      void this.refresh();
    }, REFRESH_DELAY_MS);
  }

  private async discover(): Promise<void> {
    const started = Date.now();
    const roots = (vscode.workspace.workspaceFolders ?? [])
      .filter((folder) => folder.uri.scheme === 'file')
      .map((folder) => folder.uri.fsPath);
    const hidden = new Set(this.hiddenPaths());
    const found = (
      await discoverEnvironments({
        roots,
        depth: settings.searchDepth(),
        environments: settings.environments(),
        parents: settings.environmentParents(),
      })
    ).filter((entry) => !hidden.has(entry.path));

    this.listed = await Promise.all(found.map((entry) => this.describe(entry)));
    this.listed.sort(
      (a, b) => a.environment.name.localeCompare(b.environment.name) || a.environment.path.localeCompare(b.environment.path),
    );
    this.diskUsage.keepOnly(this.listed.flatMap((listed) => listed.backups.map((backup) => backup.path)));
    this.roots = roots;
    this.watchDisk();
    this.discovered = true;
    this.firstDiscovered();
    await vscode.commands.executeCommand('setContext', 'tracBackup.discoveryDone', true);
    const paths = this.listed.map((entry) => entry.environment.path).join(', ');
    // Every refresh finds them again: said at info level only when the set changed.
    const foundLine =
      `Found ${plural(this.listed.length, 'Trac environment')} in ${Date.now() - started} ms` + (this.listed.length ? `: ${paths}` : '');
    if (paths !== this.foundPaths || !this.signature) {
      this.log.info(foundLine);
    } else {
      this.log.debug(foundLine);
    }
    this.foundPaths = paths;
    this.warnIfBindingUnavailable();
    this.logSqliteLayer();
    // Rebuilding the tree when nothing it shows changed would make its rows flicker, and a row
    // rebuilt under an open context menu reaches the command as no row at all.
    const changed = this.updateSignature();
    this.measureDiskUsage();
    if (!changed) {
      return;
    }
    for (const entry of this.listed.filter((listed) => listed.problems.length)) {
      this.log.warn(`${entry.environment.path}: ${entry.problems.join(' ')}`);
    }
    this.changed.fire();
  }

  /** True when what the list shows changed since the signature was last taken. */
  private updateSignature(): boolean {
    const signature = JSON.stringify(this.listed, (key: string, value: unknown) => (key === 'config' ? undefined : value));
    if (signature === this.signature) {
      return false;
    }
    this.signature = signature;
    return true;
  }

  /**
   * Fills in the disk use of each environment's backups that the cache could not give at once:
   * after the rows show, one environment after the other, walking only backups not walked before.
   */
  private measureDiskUsage(): void {
    if (this.measuring) {
      this.remeasure = true;
      return;
    }
    this.measuring = (async () => {
      do {
        this.remeasure = false;
        for (const listed of this.listed.filter((entry) => entry.backups.length && entry.backupsDiskBytes === undefined)) {
          if (!this.listed.includes(listed)) {
            continue; // listed again meanwhile: the next pass measures what shows now
          }
          try {
            const usage = await this.diskUsage.usage(listed.backups, this.disposed.signal);
            listed.backupsDiskBytes = usage.totalBytes;
          } catch (error) {
            if (this.disposed.signal.aborted) {
              return;
            }
            this.log.warn(`Measuring the backups in ${listed.backupFolder}: ${describeError(error)}`);
          }
          if (this.listed.includes(listed) && this.updateSignature()) {
            this.changed.fire();
          }
        }
      } while (this.remeasure);
    })().finally(() => {
      this.measuring = undefined;
    });
  }

  private async describe(found: FoundEnvironment): Promise<ListedEnvironment> {
    const environment = await readEnvironment(found.path);
    const configured = settings.backupFolder(environment.path);
    if (found.problem) {
      return {
        found,
        environment,
        problems: [found.problem],
        backupFolder: configured ?? defaultBackupFolder(environment.path),
        backups: [],
      };
    }
    const listed: ListedEnvironment = {
      found,
      environment,
      problems: [...environment.problems],
      backupFolder: configured ?? defaultBackupFolder(environment.path),
      backups: [],
    };
    try {
      const located = await environmentBackups(environment.path, configured);
      listed.backupFolder = located.folder;
      if (located.recordedPath) {
        listed.backupFolderRecordedPath = located.recordedPath;
      }
      const keptAside = keptBeforeRestorePrefix(environment.path);
      const kept = await listBackups(path.dirname(environment.path), (name) => name.startsWith(keptAside));
      listed.backups = [...located.backups, ...kept].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
      listed.backupsDiskBytes = this.diskUsage.peek(listed.backups)?.totalBytes;
    } catch (error) {
      this.log.warn(`Listing the backups in ${listed.backupFolder}: ${describeError(error)}`);
    }
    try {
      listed.details = await readEnvironmentDetails(environment);
      if (listed.details.database?.error) {
        this.log.error(`Reading the database of ${environment.path}: ${listed.details.database.error}`);
      }
    } catch (error) {
      listed.problems.push(`Its files could not be measured: ${describeError(error)}`);
    }
    return listed;
  }

  /** Once, which SQLite layer reads the databases (better-sqlite3, or node:sqlite where it cannot load). */
  private logSqliteLayer(): void {
    if (!this.sqliteLayerLogged && this.listed.some((entry) => entry.details?.database?.layer)) {
      this.sqliteLayerLogged = true;
      this.log.info(`SQLite: ${runtimeDescription()}`);
    }
  }

  /**
   * Without the SQLite binding the tree still lists environments from their files; say once,
   * clearly, what is wrong and what to do, with the runtime in the log.
   */
  private warnIfBindingUnavailable(): void {
    const failed = this.listed.find((entry) => entry.details?.database?.bindingUnavailable);
    if (!failed || this.bindingWarned) {
      return;
    }
    this.bindingWarned = true;
    const message = failed.details?.database?.error ?? 'The SQLite binding could not be loaded.';
    this.log.error(`SQLite binding unavailable on ${runtimeDescription()}: ${message}`);
    void vscode.window.showErrorMessage(`Trac Backup cannot read databases: ${message}`, 'Open Log').then((choice) => {
      if (choice === 'Open Log') {
        this.log.show();
      }
    });
  }

  /**
   * Watches, with watchers of its own, the files and folders that decide what the list shows:
   * each listed environment's VERSION and trac.ini (and the files it inherits from), its backup
   * folder (a backup appears by a folder rename), the copies a restore keeps aside, and the
   * folders named in the settings. VS Code's file watchers can drop events (a folder created a
   * moment before, its watcher service restarting as requests change), and this is a handful
   * of folders; the workspace-wide watcher is still what finds new environments in the workspace.
   */
  private watchDisk(): void {
    if (this.watchesPaused) {
      return;
    }
    const interests: FolderInterest[] = [];
    // Environments appear most often right in a workspace folder: what appears there, and
    // VERSION and trac.ini in each of its folders. Deeper ones VS Code's watcher finds.
    for (const root of this.roots) {
      interests.push({ folder: root, any: true });
      for (const child of searchedChildren(root)) {
        interests.push(...interestsInFiles([path.join(child, 'VERSION'), path.join(child, 'conf', 'trac.ini')]));
      }
    }
    for (const folder of settings.environments()) {
      interests.push(...interestsInFiles([path.join(folder, 'VERSION'), path.join(folder, 'conf', 'trac.ini')]));
    }
    for (const parent of settings.environmentParents()) {
      interests.push({ folder: parent, any: true }, interestIn(parent));
    }
    for (const listed of this.listed) {
      const env = listed.environment.path;
      const configFiles = listed.environment.config?.files ?? [path.join(env, 'conf', 'trac.ini')];
      interests.push(
        ...interestsInFiles([path.join(env, 'VERSION'), ...configFiles]),
        interestIn(listed.backupFolder),
        { folder: listed.backupFolder, any: true },
        { folder: path.dirname(env), prefixes: [keptBeforeRestorePrefix(env)] },
      );
    }
    this.folderWatcher.update(interests);
  }

  /** Files written right in a workspace folder (a README saved) do not change the list; folders may. */
  private isPlainFileInRoot(file: string): boolean {
    if (!this.roots.includes(path.dirname(file))) {
      return false;
    }
    try {
      return !statSync(file).isDirectory();
    } catch {
      return !this.listed.some((listed) => listed.environment.path === file || listed.backupFolder === file);
    }
  }

  /**
   * Runs fn with the registry's own folder watches closed, for a restore: Windows refuses to
   * rename a folder while a handle is open on a folder inside it, and a restore renames the
   * environment aside. They are opened again afterwards, on what is there by then.
   */
  async withoutWatches<T>(fn: () => Promise<T>): Promise<T> {
    this.watchesPaused += 1;
    this.folderWatcher.close();
    try {
      return await fn();
    } finally {
      this.watchesPaused -= 1;
      this.watchDisk();
    }
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.disposed.abort();
    this.folderWatcher.close();
    vscode.Disposable.from(...this.disposables).dispose();
  }
}

/** The folders right in `root` that a search for environments looks into. */
function searchedChildren(root: string): string[] {
  try {
    return readdirSync(root, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && isSearchedFolderName(entry.name))
      .map((entry) => path.join(root, entry.name));
  } catch {
    return [];
  }
}
