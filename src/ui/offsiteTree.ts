import * as os from 'node:os';
import * as vscode from 'vscode';
import { describeError, formatBytes, listOffsiteSnapshots, localDateTime, OffsiteSnapshot, shownLocation } from '../core';
import type { ListedEnvironment } from './environmentRegistry';
import { OffsiteAccess, locationName, offsiteSettings } from './offsiteAccess';

/** contextValues of the offsite rows; package.json menus match on them. */
export const OFFSITE_CONTEXT = { group: 'tracOffsite', snapshot: 'tracOffsiteSnapshot', message: 'tracOffsiteMessage' } as const;

/** "Offsite" under an environment whose tracBackup.offsite.repository is set: its snapshots there. */
export class OffsiteGroupNode {
  readonly kind = 'offsite';
  constructor(
    readonly listed: ListedEnvironment,
    readonly location: string,
  ) {}
}

export class OffsiteSnapshotNode {
  readonly kind = 'offsiteSnapshot';
  constructor(
    readonly snapshot: OffsiteSnapshot,
    readonly listed: ListedEnvironment,
    readonly location: string,
  ) {}
}

/** A row that says why there is no list (no password kept yet, restic's error), with what to do. */
export class OffsiteMessageNode {
  readonly kind = 'offsiteMessage';
  constructor(
    readonly label: string,
    readonly description: string,
    readonly listed: ListedEnvironment,
    readonly command?: vscode.Command,
  ) {}
}

export type OffsiteTreeNode = OffsiteGroupNode | OffsiteSnapshotNode | OffsiteMessageNode;

export function isOffsiteNode(node: unknown): node is OffsiteTreeNode {
  return node instanceof OffsiteGroupNode || node instanceof OffsiteSnapshotNode || node instanceof OffsiteMessageNode;
}

type Listing = { snapshots: OffsiteSnapshot[] } | { problem: string } | { noPassword: true };

/**
 * The offsite snapshots of each environment, listed once (restic snapshots --json, by the
 * environment's tag) when its row is opened, and again after a send, a restore, a prune or a
 * refresh. The tree never asks for a password: without one kept, its row says how to give it.
 */
export class OffsiteSnapshotRows implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly listings = new Map<string, Promise<Listing>>();
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly access: OffsiteAccess,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.subscription = vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('tracBackup.offsite')) {
        this.invalidate();
      }
    });
  }

  /** The group row of an environment, when a repository is set for it. */
  groupFor(listed: ListedEnvironment): OffsiteGroupNode | undefined {
    const location = offsiteSettings.repository(listed.environment.path);
    return location ? new OffsiteGroupNode(listed, location) : undefined;
  }

  async children(node: OffsiteTreeNode): Promise<OffsiteTreeNode[]> {
    if (!(node instanceof OffsiteGroupNode)) {
      return [];
    }
    const listing = await this.listing(node);
    if ('noPassword' in listing) {
      return [
        new OffsiteMessageNode('Password needed', "click to give the repository's password", node.listed, {
          command: 'tracBackup.offsite.listSnapshots',
          title: 'List Offsite Snapshots',
          arguments: [node],
        }),
      ];
    }
    if ('problem' in listing) {
      return [
        new OffsiteMessageNode('Cannot list', listing.problem, node.listed, {
          command: 'tracBackup.offsite.listSnapshots',
          title: 'Try Again',
          arguments: [node],
        }),
      ];
    }
    if (listing.snapshots.length === 0) {
      return [new OffsiteMessageNode('No snapshots', 'Send to Offsite Repository sends a backup there', node.listed)];
    }
    return listing.snapshots.map((snapshot) => new OffsiteSnapshotNode(snapshot, node.listed, node.location));
  }

  /** The snapshots listed for the environment (undefined: not listed yet or could not be). */
  async snapshotsOf(group: OffsiteGroupNode): Promise<OffsiteSnapshot[] | undefined> {
    const listing = await this.listing(group);
    return 'snapshots' in listing ? listing.snapshots : undefined;
  }

  /** Lists again (all environments, or one), and redraws. */
  invalidate(environment?: string): void {
    if (environment) {
      this.listings.delete(environment);
    } else {
      this.listings.clear();
    }
    this.changed.fire();
  }

  private listing(group: OffsiteGroupNode): Promise<Listing> {
    const key = group.listed.environment.path;
    let listing = this.listings.get(key);
    if (!listing) {
      listing = this.list(group);
      this.listings.set(key, listing);
    }
    return listing;
  }

  private async list(group: OffsiteGroupNode): Promise<Listing> {
    const environment = group.listed.environment.path;
    try {
      const repository = await this.access.repository(group.location, environment, false);
      if (!repository) {
        return { noPassword: true };
      }
      return { snapshots: await listOffsiteSnapshots(repository, { environment }) };
    } catch (error) {
      this.log.warn(`Listing the offsite snapshots of ${environment} in ${shownLocation(group.location)}: ${describeError(error)}`);
      return { problem: describeError(error) };
    }
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}

export function offsiteItem(node: OffsiteTreeNode): vscode.TreeItem {
  if (node instanceof OffsiteGroupNode) {
    const item = new vscode.TreeItem('Offsite', vscode.TreeItemCollapsibleState.Collapsed);
    item.id = `offsite:${node.listed.environment.path}`;
    // The repository's folder name fits beside the row's Refresh button; where it is, in the tooltip.
    item.description = locationName(node.location);
    item.tooltip = `Snapshots of this environment in the restic repository ${shownLocation(node.location)} (tracBackup.offsite.repository)`;
    item.iconPath = new vscode.ThemeIcon('cloud');
    item.contextValue = OFFSITE_CONTEXT.group;
    return item;
  }
  if (node instanceof OffsiteSnapshotNode) {
    const { snapshot } = node;
    const made = new Date(snapshot.time);
    const item = new vscode.TreeItem(localDateTime(made), vscode.TreeItemCollapsibleState.None);
    item.id = `offsiteSnapshot:${node.listed.environment.path}:${snapshot.id}`;
    const host = snapshot.host && snapshot.host !== os.hostname() ? `from ${snapshot.host}` : undefined;
    // Like a backup's row: its date and size (and the machine, when another one sent it); the
    // snapshot's id is in the tooltip.
    item.description = [snapshot.bytes === undefined ? undefined : formatBytes(snapshot.bytes), host].filter(Boolean).join(' · ');
    item.tooltip = [
      `Snapshot ${snapshot.shortId} in ${shownLocation(node.location)}`,
      `Backup ${snapshot.backupName ?? '(unnamed)'} made ${made.toLocaleString()}${snapshot.host ? ` on ${snapshot.host}` : ''}`,
      snapshot.bytes === undefined ? '' : `Size: ${formatBytes(snapshot.bytes)}`,
    ]
      .filter(Boolean)
      .join('\n');
    item.iconPath = new vscode.ThemeIcon('cloud-download');
    item.contextValue = OFFSITE_CONTEXT.snapshot;
    return item;
  }
  const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
  item.id = `offsiteMessage:${node.listed.environment.path}`;
  item.description = node.description;
  item.tooltip = node.description;
  item.iconPath = new vscode.ThemeIcon(node.command ? 'key' : 'info');
  item.command = node.command;
  item.contextValue = OFFSITE_CONTEXT.message;
  return item;
}
