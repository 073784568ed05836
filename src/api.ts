import { EnvironmentRegistry } from './ui/environmentRegistry';
import { backupItem, backupsGroupItem, environmentItem } from './ui/environmentTree';
import { VerifyStatusStore } from './ui/verifyStatus';

/** What a row of the Environments view says, as tests and other extensions read it. */
export interface EnvironmentRow {
  path: string;
  label: string;
  description: string;
  tooltip: string;
  problems: string[];
  contextValue: string;
  /** Where its backups are and new ones go. */
  backupFolder: string;
  /** Its Backups row ("3 · newest 5 minutes ago · 1.2 MB on disk") and that row's tooltip; empty without backups. */
  backupsDescription: string;
  backupsTooltip: string;
}

/** What the status bar item shows. */
export interface StatusBarState {
  text: string;
  tooltip: string;
  /** On the warning colour: a backup is older than its schedule allows. */
  warning: boolean;
  visible: boolean;
}

/** Returned by activate(): a small, stable surface for tests and other extensions. */
/** What a backup row under an environment says. */
export interface BackupRow {
  path: string;
  label: string;
  description: string;
  tooltip: string;
  contextValue: string;
}

export interface TracBackupApi {
  listEnvironments(): Promise<EnvironmentRow[]>;
  /** The backup rows under an environment, newest first (empty when it is not listed). */
  listBackups(environmentPath: string): Promise<BackupRow[]>;
  refresh(): Promise<void>;
  statusBar(): StatusBarState;
}

/** A tree item's label as text (a TreeItemLabel's own label). */
function labelText(label: string | { label: string } | undefined): string {
  return typeof label === 'string' ? label : (label?.label ?? '');
}

export function createApi(
  registry: EnvironmentRegistry,
  statuses: VerifyStatusStore,
  ready: Promise<void>,
  statusBar: () => StatusBarState,
): TracBackupApi {
  return {
    async listEnvironments() {
      await registry.ready(); // starts the first discovery when none ran yet
      await ready;
      return registry.environments.map((listed) => {
        const item = environmentItem(listed);
        const backups = listed.backups.length ? backupsGroupItem(listed) : undefined;
        return {
          path: listed.environment.path,
          label: labelText(item.label),
          description: String(item.description ?? ''),
          tooltip: typeof item.tooltip === 'string' ? item.tooltip : (item.tooltip?.value ?? ''),
          problems: [...listed.problems],
          contextValue: item.contextValue ?? '',
          backupFolder: listed.backupFolder,
          backupsDescription: String(backups?.description ?? ''),
          backupsTooltip: typeof backups?.tooltip === 'string' ? backups.tooltip : (backups?.tooltip?.value ?? ''),
        };
      });
    },
    async listBackups(environmentPath) {
      await registry.ready();
      return (registry.find(environmentPath)?.backups ?? []).map((backup) => {
        const item = backupItem(backup, statuses.get(backup));
        return {
          path: backup.path,
          label: labelText(item.label),
          description: String(item.description ?? ''),
          tooltip: typeof item.tooltip === 'string' ? item.tooltip : (item.tooltip?.value ?? ''),
          contextValue: item.contextValue ?? '',
        };
      });
    },
    refresh: () => registry.refresh(),
    statusBar,
  };
}
