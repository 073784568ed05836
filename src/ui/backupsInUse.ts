import * as path from 'node:path';
import { TracBackupError } from '../core';

/** What this window is doing with a backup. */
export type BackupUse = 'verified' | 'exported' | 'deleted' | 'sent offsite';

/**
 * The backups this window is verifying, exporting or deleting now, so that one operation does
 * not pull a backup from under another: Delete and Prune leave a backup being verified or exported
 * alone, and Verify and Export refuse one being deleted. Across windows and processes the core
 * copes on its own (verify notices a backup that vanished, export one that changed).
 */
class BackupsInUse {
  private readonly uses = new Map<string, BackupUse[]>();

  /** Runs `work` with the backups marked as in `use`, unmarked however it ends. */
  async during<T>(backups: string | readonly string[], use: BackupUse, work: () => Thenable<T> | Promise<T>): Promise<T> {
    const keys = (typeof backups === 'string' ? [backups] : backups).map((backup) => path.resolve(backup));
    keys.forEach((key) => this.uses.set(key, [...(this.uses.get(key) ?? []), use]));
    try {
      return await work();
    } finally {
      for (const key of keys) {
        const left = this.uses.get(key) ?? [];
        left.splice(left.indexOf(use), 1);
        if (left.length) {
          this.uses.set(key, left);
        } else {
          this.uses.delete(key);
        }
      }
    }
  }

  /** "being verified", "being verified and exported": what is being done with it here, if anything. */
  whatIsDone(backup: string): string | undefined {
    const uses = [...new Set(this.uses.get(path.resolve(backup)) ?? [])];
    return uses.length ? `being ${uses.join(' and ')}` : undefined;
  }

  /** Throws when a backup is being verified, exported (or deleted) here: it must not be deleted now. */
  refuseDeleteInUse(backups: readonly string[]): void {
    const busy = backups.flatMap((backup) => {
      const doing = this.whatIsDone(backup);
      return doing ? [{ backup, doing }] : [];
    });
    if (busy.length) {
      const named = busy.map((entry) => `The backup ${path.basename(entry.backup)} is ${entry.doing}`).join('; ');
      const them = busy.length === 1 ? 'it' : 'them';
      throw new TracBackupError(
        'ENVIRONMENT_BUSY',
        `${named}: wait for ${them} or cancel ${them}, then delete. Nothing was deleted.`,
        busy[0].backup,
      );
    }
  }

  /** Throws when the backup is being deleted here: there will be nothing to verify or export. */
  refuseWhileDeleted(backup: string, verb: string): void {
    if (this.uses.get(path.resolve(backup))?.includes('deleted')) {
      throw new TracBackupError('ENVIRONMENT_BUSY', `Can't ${verb} ${path.basename(backup)}: it is being deleted.`, backup);
    }
  }
}

export const backupsInUse = new BackupsInUse();
