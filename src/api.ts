import { EnvironmentRegistry } from './ui/environmentRegistry';
import { environmentItem } from './ui/environmentTree';

/** What a row of the Environments view says, as tests and other extensions read it. */
export interface EnvironmentRow {
  path: string;
  label: string;
  description: string;
  tooltip: string;
  problems: string[];
  contextValue: string;
}

/** Returned by activate(): a small, stable surface for tests and other extensions. */
export interface TracBackupApi {
  listEnvironments(): Promise<EnvironmentRow[]>;
  refresh(): Promise<void>;
}

export function createApi(registry: EnvironmentRegistry, ready: Promise<void>): TracBackupApi {
  return {
    async listEnvironments() {
      await ready;
      return registry.environments.map((listed) => {
        const item = environmentItem(listed);
        return {
          path: listed.environment.path,
          label: String(item.label),
          description: String(item.description ?? ''),
          tooltip: typeof item.tooltip === 'string' ? item.tooltip : (item.tooltip?.value ?? ''),
          problems: [...listed.problems],
          contextValue: item.contextValue ?? '',
        };
      });
    },
    refresh: () => registry.refresh(),
  };
}
