import * as vscode from 'vscode';
import { BackupInfo, defaultBackupFolder, formatBytes, formatDuration, isKeptBeforeRestore, localDateTime, plural } from '../core';
import { EnvironmentRegistry, ListedEnvironment } from './environmentRegistry';
import { relativeAge } from './relativeAge';
import { displayPath } from './settings';
import { backupRowAccessibleLabel, backupRowDescription } from './backupRow';
import { databaseRowWording } from './databaseRow';
import { problemHeadline } from './problemRow';
import { OffsiteSnapshotRows, OffsiteTreeNode, isOffsiteNode, offsiteItem } from './offsiteTree';
import { VerifyStatus, VerifyStatusStore } from './verifyStatus';

export const VIEW_ID = 'tracBackup.environments';

/** Shows a Problem row's whole sentence (the row's command). */
export const SHOW_PROBLEM_COMMAND = 'tracBackup.environment.showProblem';

const AGE_REFRESH_MS = 60_000;

/** contextValue of environment rows; package.json menus match on these prefixes. */
export const ENVIRONMENT_CONTEXT = { ok: 'tracEnvironment.ok', broken: 'tracEnvironment.broken' } as const;

export class EnvironmentNode {
  readonly kind = 'environment';
  constructor(readonly listed: ListedEnvironment) {}
  get path(): string {
    return this.listed.environment.path;
  }
}

export class DetailNode {
  readonly kind = 'detail';
  constructor(
    readonly label: string,
    readonly description: string,
    readonly icon: vscode.ThemeIcon,
    readonly tooltip?: string,
    readonly command?: vscode.Command,
  ) {}
}

export class BackupsGroupNode {
  readonly kind = 'backups';
  constructor(readonly listed: ListedEnvironment) {}
}

export class BackupNode {
  readonly kind = 'backup';
  constructor(
    readonly backup: BackupInfo,
    readonly listed: ListedEnvironment,
  ) {}
  get path(): string {
    return this.backup.path;
  }
}

export type TreeNode = EnvironmentNode | DetailNode | BackupsGroupNode | BackupNode | OffsiteTreeNode;

/** contextValue of backup rows. */
export const BACKUP_CONTEXT = 'tracBackup';

/** The rows a person sees: one per environment, details underneath. */
export class EnvironmentTreeProvider implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<TreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly registry: EnvironmentRegistry,
    private readonly statuses: VerifyStatusStore,
    private readonly offsite?: OffsiteSnapshotRows,
  ) {
    // Ages ("5 minutes ago") grow while nothing changes on disk.
    const ages = setInterval(() => this.changed.fire(undefined), AGE_REFRESH_MS);
    this.subscription = vscode.Disposable.from(
      registry.onDidChange(() => this.changed.fire(undefined)),
      statuses.onDidChange(() => this.changed.fire(undefined)),
      ...(offsite ? [offsite.onDidChange(() => this.changed.fire(undefined))] : []),
      { dispose: () => clearInterval(ages) },
    );
  }

  getChildren(element?: TreeNode): TreeNode[] | Promise<TreeNode[]> {
    if (!element) {
      // The view shown is what starts the first discovery (activation does none).
      const roots = () => this.registry.environments.map((listed) => new EnvironmentNode(listed));
      return this.registry.started ? roots() : this.registry.ready().then(roots);
    }
    if (element instanceof EnvironmentNode) {
      const rows: TreeNode[] = detailsOf(element.listed);
      if (element.listed.backups.length) {
        rows.push(new BackupsGroupNode(element.listed));
      }
      const offsite = this.offsite?.groupFor(element.listed);
      return offsite ? [...rows, offsite] : rows;
    }
    if (isOffsiteNode(element)) {
      return this.offsite?.children(element) ?? [];
    }
    if (element instanceof BackupsGroupNode) {
      return element.listed.backups.map((backup) => new BackupNode(backup, element.listed));
    }
    return [];
  }

  getTreeItem(element: TreeNode): vscode.TreeItem {
    if (isOffsiteNode(element)) {
      return offsiteItem(element);
    }
    if (element instanceof EnvironmentNode) {
      return environmentItem(element.listed);
    }
    if (element instanceof BackupsGroupNode) {
      return backupsGroupItem(element.listed);
    }
    if (element instanceof BackupNode) {
      return backupItem(element.backup, this.statuses.get(element.backup));
    }
    const item = new vscode.TreeItem(element.label, vscode.TreeItemCollapsibleState.None);
    item.description = element.description;
    item.iconPath = element.icon;
    item.tooltip = element.tooltip;
    item.command = element.command;
    item.contextValue = 'tracDetail';
    return item;
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}

export function environmentItem(listed: ListedEnvironment): vscode.TreeItem {
  const { environment, problems } = listed;
  // A broken environment opens on its Problem row: the reason is read, not hidden in a tooltip.
  const item = new vscode.TreeItem(
    environment.name,
    problems.length ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed,
  );
  item.id = `environment:${environment.path}`;
  item.description = environmentFacts(listed);
  item.resourceUri = vscode.Uri.file(environment.path);
  item.contextValue = `${problems.length ? ENVIRONMENT_CONTEXT.broken : ENVIRONMENT_CONTEXT.ok}.${listed.found.origin}`;
  item.iconPath = problems.length
    ? new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground'))
    : new vscode.ThemeIcon('database');
  item.tooltip = environmentTooltip(listed);
  return item;
}

/**
 * What the row says beside the name, short enough for the default sidebar width also while the
 * row shows its Back Up button (focused or hovered): the age of its newest backup ("3 min. ago",
 * "no backup"). Its size is on the Total row below and in the tooltip, with the path.
 */
function environmentFacts(listed: ListedEnvironment): string {
  if (listed.problems.length) {
    return 'cannot be backed up';
  }
  const newest = listed.backups.find((backup) => !isKeptBeforeRestore(backup.name) && !backup.problem);
  return newest ? relativeAge(newest.createdAt, undefined, 'short') : 'no backup';
}

export function environmentTooltip(listed: ListedEnvironment): vscode.MarkdownString {
  const { environment, problems, details } = listed;
  const lines = [`**${escape(environment.name)}**`, '', `Path: \`${displayPath(environment.path)}\``];
  if (environment.database) {
    lines.push(`Database: \`${environment.database.display}\``);
  }
  if (details?.database?.version) {
    lines.push(`Trac database version: ${details.database.version}`);
  }
  if (details?.database?.layer) {
    lines.push(`SQLite through: ${details.database.layer}`);
  }
  if (details) {
    lines.push(`Size: ${formatBytes(details.bytes)} in ${details.files} files`);
  }
  if (problems.length) {
    lines.push('', ...problems.map((problem) => `$(warning) ${escape(problem)}`));
  }
  const markdown = new vscode.MarkdownString(lines.join('  \n'), true);
  return markdown;
}

export function backupsGroupItem(listed: ListedEnvironment): vscode.TreeItem {
  const { backups } = listed;
  const item = new vscode.TreeItem('Backups', vscode.TreeItemCollapsibleState.Expanded);
  item.id = `backups:${listed.environment.path}`;
  // The newest backup's age is on its own row, just below.
  const disk = listed.backupsDiskBytes !== undefined ? ` · ${formatBytes(listed.backupsDiskBytes)} on disk` : '';
  item.description = `${backups.length}${disk}`;
  item.tooltip = backupsTooltip(listed);
  item.iconPath = new vscode.ThemeIcon('history');
  item.contextValue = 'tracBackups';
  return item;
}

/** Where the backups are, and why there when it is not the folder the environment's name gives. */
export function backupsTooltip(listed: ListedEnvironment): string {
  const where = `Backups in ${listed.backupFolder}`;
  if (!listed.backupFolderRecordedPath) {
    return where;
  }
  return (
    `${where}: they were made when the environment was at ${listed.backupFolderRecordedPath} (it was renamed or moved since), ` +
    `so new backups go there too, instead of ${defaultBackupFolder(listed.environment.path)}. ` +
    'Set tracBackup.backupFolder to choose another folder.'
  );
}

export function backupItem(backup: BackupInfo, status: VerifyStatus | undefined): vscode.TreeItem {
  const item = new vscode.TreeItem(localDateTime(backup.createdAt), vscode.TreeItemCollapsibleState.None);
  item.id = `backup:${backup.path}`;
  // Short, for the default sidebar width: the icon says whether it passed verification, the
  // tooltip says the rest (incremental, the problems found, the path).
  const verified = status ? (status.ok ? 'verified' : plural(status.problems, 'problem')) : 'never verified';
  // The label is its date: its age would only repeat it (it is in the tooltip, and the
  // environment's row gives the newest backup's).
  item.description = backupRowDescription(backup);
  item.accessibilityInformation = { label: backupRowAccessibleLabel(backup, localDateTime(backup.createdAt), verified) };
  item.resourceUri = vscode.Uri.file(backup.path);
  item.contextValue = BACKUP_CONTEXT;
  item.iconPath = backup.problem
    ? new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground'))
    : status && !status.ok
      ? new vscode.ThemeIcon('error', new vscode.ThemeColor('list.errorForeground'))
      : status?.ok
        ? new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed'))
        : new vscode.ThemeIcon('archive');
  const lines = [
    `**${escape(backup.name)}**`,
    '',
    `Path: \`${backup.path}\``,
    `Made: ${backup.createdAt.toLocaleString()} (${relativeAge(backup.createdAt)})`,
    `Size: ${formatBytes(backup.bytes)} in ${backup.files} files`,
  ];
  if (isKeptByRestore(backup)) {
    lines.push('The environment as it was before a restore, kept aside by it: never pruned automatically.');
  } else if (backup.kind === 'trac-admin') {
    lines.push('A plain environment copy (as `trac-admin hotcopy` makes): no checksums.');
  }
  if (backup.databaseIncluded === false) {
    lines.push('Made without the database (--no-database).');
  }
  if (backup.incremental) {
    lines.push(
      `Incremental: ${formatBytes(backup.copiedBytes ?? 0)} of new data; ${formatBytes(backup.linkedBytes ?? 0)} shared with the backup before it through hard links.`,
    );
  }
  if (backup.lockMs !== undefined) {
    lines.push(`Trac's writers were held for ${formatDuration(backup.lockMs)}.`);
  }
  if (backup.problem) {
    lines.push('', `$(warning) ${escape(backup.problem)}`);
  }
  if (!status) {
    lines.push('', 'Never verified: run Verify Backup to check it.');
  } else if (status.ok) {
    lines.push('', `$(pass) Verified ${new Date(status.checkedAt).toLocaleString()}: every file and the database check out.`);
  } else {
    lines.push(
      '',
      `$(error) Failed verification ${new Date(status.checkedAt).toLocaleString()} (${plural(status.problems, 'problem')}):`,
      ...status.summary.map(escape),
    );
  }
  item.tooltip = new vscode.MarkdownString(lines.join('  \n'), true);
  return item;
}

function isKeptByRestore(backup: BackupInfo): boolean {
  return isKeptBeforeRestore(backup.name);
}

function detailsOf(listed: ListedEnvironment): DetailNode[] {
  // The reason in a few words is the label (what is read first); "Problem" is what the icon says;
  // the whole sentence is the tooltip, and a click shows it.
  const rows: DetailNode[] = listed.problems.map(
    (problem) =>
      new DetailNode(
        problemHeadline(problem),
        '',
        new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground')),
        problem,
        {
          command: SHOW_PROBLEM_COMMAND,
          title: 'Show the Problem',
          arguments: [problem],
        },
      ),
  );
  const { environment, details } = listed;
  const database = databaseRowWording(environment, details);
  if (database) {
    const icon = database.reachable
      ? new vscode.ThemeIcon('database')
      : new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground'));
    rows.push(new DetailNode('Database', database.description, icon, database.tooltip));
  }
  if (details) {
    rows.push(
      new DetailNode(
        'Attachments',
        `${details.attachments.files} files · ${formatBytes(details.attachments.bytes)}`,
        new vscode.ThemeIcon('file-binary'),
      ),
      new DetailNode('Total', `${details.files} files · ${formatBytes(details.bytes)}`, new vscode.ThemeIcon('folder')),
    );
  }
  return rows;
}

function escape(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
}
