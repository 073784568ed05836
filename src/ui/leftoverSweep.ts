import * as vscode from 'vscode';
import { describeError, describeSwept, sweepEnvironmentLeftovers, SweptLeftover, SweptWork } from '../core';
import { EnvironmentRegistry, ListedEnvironment } from './environmentRegistry';

/** Logs, one line each, the dead work an operation swept from its folder before it started. */
export function logSwept(log: vscode.LogOutputChannel, swept: readonly SweptWork[]): void {
  for (const item of swept) {
    if (item.action === 'failed') {
      log.warn(describeSwept(item));
    } else {
      log.info(describeSwept(item));
    }
  }
}

/**
 * Sweeps what killed runs left around every listed environment: a window reloaded, or an
 * extension host that crashed, during a backup, an export, a delete or a restore leaves a
 * partial backup, archive or copy that nothing else would remove or mention (see
 * sweepEnvironmentLeftovers). Each item goes to the log with what it was and how big.
 */
export async function sweepAroundEnvironments(
  environments: readonly ListedEnvironment[],
  log: vscode.LogOutputChannel,
): Promise<SweptLeftover[]> {
  const swept = await sweepEnvironmentLeftovers(
    ...environments.map((listed) => {
      const database = listed.environment.database;
      return {
        environment: listed.environment.path,
        backupFolder: listed.backupFolder,
        databaseFiles: database?.kind === 'sqlite' && database.external ? [database.file] : [],
      };
    }),
  );
  for (const item of swept) {
    if (item.action === 'removed' || item.action === 'finished') {
      log.info(item.message);
    } else {
      log.warn(item.message);
    }
  }
  return swept;
}

/**
 * The sweep a window does once, after its first discovery (never delaying the tree), and only
 * in a trusted workspace (it deletes files): call the returned function then, and again when
 * trust is granted.
 */
export function startupSweep(registry: EnvironmentRegistry, log: vscode.LogOutputChannel): () => void {
  let started = false;
  return () => {
    if (started || !vscode.workspace.isTrusted) {
      return;
    }
    started = true;
    void sweepAroundEnvironments(registry.environments, log).catch((error: unknown) =>
      log.warn(`Sweeping what stopped runs left: ${describeError(error)}`),
    );
  };
}
