import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  CancelledError,
  initRepository,
  OffsiteLockedError,
  OffsiteRepository,
  shownLocation,
  TracBackupError,
  unlockStaleLocks,
  whileLocked,
} from '../core';
import { SECTION } from './settings';

/** The settings of offsite copies (restic), as they apply to an environment's workspace folder. */
export const offsiteSettings = {
  repository(environment?: string): string | undefined {
    const value = configFor(environment).get<unknown>('offsite.repository', '');
    return typeof value === 'string' && value.trim() ? value.trim() : undefined;
  },
  resticPath(environment?: string): string | undefined {
    const value = configFor(environment).get<unknown>('offsite.resticPath', '');
    return typeof value === 'string' && value.trim() ? value.trim().replace(/^~(?=$|[\\/])/, process.env.HOME ?? '~') : undefined;
  },
  options(environment?: string): string[] {
    const value = configFor(environment).get<unknown>('offsite.options', []);
    return Array.isArray(value) ? value.filter((option): option is string => typeof option === 'string' && option.includes('=')) : [];
  },
};

function configFor(environment: string | undefined): vscode.WorkspaceConfiguration {
  const folder = environment ? vscode.workspace.getWorkspaceFolder(vscode.Uri.file(environment)) : undefined;
  return vscode.workspace.getConfiguration(SECTION, folder?.uri ?? null);
}

const OPEN_SETTING = 'Open Settings';

/**
 * The extension's way to an offsite repository: the location and restic from the settings, the
 * password from VS Code's SecretStorage (asked once per repository, kept only once restic took
 * it; never in settings, the log or restic's command line: restic reads it from a private file),
 * and the answers to restic's failures that need a person: a wrong password (asked again), no
 * repository there (offer restic init), a stale lock (offer restic unlock), a live one (offer to
 * wait, cancellable), restic missing (the setting).
 */
export class OffsiteAccess {
  constructor(
    private readonly secrets: vscode.SecretStorage,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /** The repository set for this environment, or a message saying how to set one. */
  requireLocation(environment?: string): string {
    const location = offsiteSettings.repository(environment);
    if (!location) {
      void vscode.window
        .showInformationMessage('Set tracBackup.offsite.repository to a restic repository first.', OPEN_SETTING)
        .then((choice) => {
          if (choice === OPEN_SETTING) {
            void vscode.commands.executeCommand('workbench.action.openSettings', 'tracBackup.offsite');
          }
        });
      throw new CancelledError('Offsite');
    }
    return location;
  }

  /** True when the password of the repository is kept (the tree lists snapshots without asking). */
  async hasPassword(location: string): Promise<boolean> {
    return (await this.secrets.get(secretKey(location))) !== undefined;
  }

  /** The repository as restic is run on it; asks for the password when none is kept (undefined: the user cancelled). */
  async repository(location: string, environment?: string, ask = true): Promise<OffsiteRepository | undefined> {
    const kept = await this.secrets.get(secretKey(location));
    const password = kept ?? (ask ? await askPassword(location, false) : undefined);
    if (password === undefined) {
      return undefined;
    }
    return {
      location,
      password,
      ...(offsiteSettings.resticPath(environment) && { restic: offsiteSettings.resticPath(environment) }),
      options: offsiteSettings.options(environment),
    };
  }

  /**
   * Runs `work` on the repository, answering what restic's failures ask of a person, then keeps
   * the password that worked. A cancelled question cancels (CancelledError).
   */
  async run<T>(
    location: string,
    environment: string | undefined,
    work: (repository: OffsiteRepository, signal?: AbortSignal) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    const repository = await this.repository(location, environment);
    if (!repository) {
      throw new CancelledError('Offsite');
    }
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await work(repository, signal);
        await this.secrets.store(secretKey(location), repository.password!);
        return result;
      } catch (error) {
        if (!(error instanceof TracBackupError) || attempt >= 4 || signal?.aborted) {
          throw error;
        }
        const next = await this.answer(error, repository, work, signal);
        if (next === 'rethrow') {
          throw error;
        }
        if (next !== 'retry') {
          await this.secrets.store(secretKey(location), repository.password!);
          return next.result;
        }
      }
    }
  }

  /** Forgets the kept password of a repository (Trac: Forget Offsite Password). */
  async forgetPassword(location: string): Promise<void> {
    await this.secrets.delete(secretKey(location));
  }

  private async answer<T>(
    error: TracBackupError,
    repository: OffsiteRepository,
    work: (repository: OffsiteRepository, signal?: AbortSignal) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<'retry' | 'rethrow' | { result: T }> {
    const where = shownLocation(repository.location);
    switch (error.code) {
      case 'OFFSITE_WRONG_PASSWORD': {
        await this.secrets.delete(secretKey(repository.location));
        const password = await askPassword(repository.location, true);
        if (password === undefined) {
          throw new CancelledError('Offsite');
        }
        repository.password = password; // kept once restic takes it
        return 'retry';
      }
      case 'OFFSITE_NOT_INITIALISED': {
        const init = 'Initialise Repository';
        const choice = await vscode.window.showWarningMessage(
          `There is no restic repository at ${where}.`,
          {
            modal: true,
            detail:
              'Initialise one there (restic init)? It is encrypted with the password you gave: keep it somewhere safe too, ' +
              'since without it nobody, you included, can read the repository.',
          },
          init,
        );
        if (choice !== init) {
          throw new CancelledError('Offsite');
        }
        await initRepository(repository, { signal });
        this.log.info(`Initialised the restic repository ${where}`);
        return 'retry';
      }
      case 'OFFSITE_LOCKED': {
        const holder = (error as OffsiteLockedError).holder;
        if (holder.stale) {
          const unlock = 'Remove Stale Lock';
          const choice = await vscode.window.showWarningMessage(
            `${where} is locked by a restic that is gone.`,
            { modal: true, detail: error.message },
            unlock,
          );
          if (choice !== unlock) {
            throw new CancelledError('Offsite');
          }
          await unlockStaleLocks(repository, { signal });
          this.log.info(`Removed the stale locks of ${where} (${error.message})`);
          return 'retry';
        }
        const wait = 'Wait';
        const choice = await vscode.window.showWarningMessage(
          `${where} is in use by another restic.`,
          { modal: true, detail: error.message },
          wait,
        );
        if (choice !== wait) {
          throw new CancelledError('Offsite');
        }
        const result = await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Notification, title: `Waiting for ${where} to be unlocked`, cancellable: true },
          (_progress, token) => {
            const controller = new AbortController();
            token.onCancellationRequested(() => controller.abort());
            signal?.addEventListener('abort', () => controller.abort(), { once: true });
            return whileLocked(() => work(repository, controller.signal), { signal: controller.signal });
          },
        );
        return { result };
      }
      case 'RESTIC_MISSING':
        this.log.error(error.message);
        void vscode.window.showErrorMessage(error.message, OPEN_SETTING).then((choice) => {
          if (choice === OPEN_SETTING) {
            void vscode.commands.executeCommand('workbench.action.openSettings', 'tracBackup.offsite.resticPath');
          }
        });
        throw new CancelledError('Offsite'); // shown here, with the setting's button
      default:
        return 'rethrow';
    }
  }
}

/** Where SecretStorage keeps a repository's password: one entry per location. */
function secretKey(location: string): string {
  return `tracBackup.offsite.password:${location}`;
}

function askPassword(location: string, wrong: boolean): Thenable<string | undefined> {
  return vscode.window.showInputBox({
    title: `Password of the restic repository ${shownLocation(location)}`,
    prompt: wrong
      ? "That password was wrong. The password of the repository (kept in VS Code's secret storage, never in settings):"
      : "The password of the repository (a new one for a repository to initialise). Kept in VS Code's secret storage, never in settings or logs.",
    password: true,
    ignoreFocusOut: true,
    validateInput: (value) => (value ? undefined : 'restic needs a password'),
  });
}

/** The folder name of a location, for titles. */
export function locationName(location: string): string {
  return path.basename(shownLocation(location).replace(/\/+$/, '')) || shownLocation(location);
}
