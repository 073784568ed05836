import { realpathSync } from 'node:fs';
import * as vscode from 'vscode';
import {
  describeError,
  FolderWatcher,
  interestsInFiles,
  passedSinceMade,
  readVerifications,
  recordVerification,
  VerificationRecord,
  verificationStoreFile,
} from '../core';
import type { BackupInfo } from '../core';

/** The last verification of a backup, as its row shows it. */
export interface VerifyStatus {
  ok: boolean;
  problems: number;
  /** The first problems, for the tooltip. */
  summary: string[];
  checkedAt: string;
}

/** What a row knows of its backup: which folder, and which backup it holds now. */
export type BackupIdentity = Pick<BackupInfo, 'path' | 'kind' | 'createdAt'>;

/**
 * Verification results, from the per-user store the CLI writes too (verificationStore.ts): a
 * backup verified with `trac-backup verify` shows as verified here, and one verified here lets
 * `trac-backup hotcopy --incremental` link from it. A backup folder must not be written (an extra
 * file would fail its own verification). The store is read into memory, again whenever its file
 * changes, so that rows are drawn without touching the disk.
 */
export class VerifyStatusStore implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private records = new Map<string, VerificationRecord>();
  private readonly realPaths = new Map<string, string>();
  private readonly file = verificationStoreFile();
  private readonly watcher = new FolderWatcher(() => void this.reload());
  /** Resolves once the store has been read. */
  readonly ready: Promise<void>;

  constructor(private readonly log?: vscode.LogOutputChannel) {
    this.ready = this.reload();
  }

  /** The last verification of this backup, when it is still the backup that was verified. */
  get(backup: BackupIdentity): VerifyStatus | undefined {
    const record = this.recordOf(backup);
    return record && { ok: record.ok, problems: record.problems, summary: record.summary, checkedAt: record.verifiedAt };
  }

  /** The record that lets an incremental backup link from this one: it passed verification since it was made. */
  passed(backup: BackupIdentity): VerificationRecord | undefined {
    const record = this.recordOf(backup);
    return passedSinceMade(record) ? record : undefined;
  }

  /** Records a verification; one of a backup deleted or moved while it was checked is no result, and is not kept. */
  async set(
    _backupPath: string,
    result: {
      backup: string;
      ok: boolean;
      problems: Array<{ path: string; problem: string }>;
      createdAt?: string;
      startedAt: string;
      vanished?: true;
    },
  ): Promise<void> {
    if (result.vanished) {
      return;
    }
    await recordVerification(result, this.file);
    await this.reload();
  }

  dispose(): void {
    this.watcher.close();
    this.changed.dispose();
  }

  private recordOf(backup: BackupIdentity): VerificationRecord | undefined {
    const record = this.records.get(this.realPath(backup.path));
    if (!record) {
      return undefined;
    }
    const sameBackup =
      backup.kind === 'trac-admin'
        ? record.createdAt === null
        : record.createdAt !== null && Date.parse(record.createdAt) === backup.createdAt.getTime();
    return sameBackup ? record : undefined;
  }

  private realPath(backupPath: string): string {
    let real = this.realPaths.get(backupPath);
    if (real === undefined) {
      try {
        real = realpathSync(backupPath);
      } catch {
        return backupPath; // gone: no record can be its
      }
      this.realPaths.set(backupPath, real);
    }
    return real;
  }

  /** Reads the store again now (after a verification this window recorded through the core). */
  refresh(): Promise<void> {
    return this.reload();
  }

  private async reload(): Promise<void> {
    // The store's folder may not exist yet: its parent is watched for it (see interestsInFiles).
    this.watcher.update(interestsInFiles([this.file]));
    try {
      const records = await readVerifications(this.file);
      this.records = new Map(records.map((record) => [record.backup, record]));
      this.realPaths.clear();
      this.changed.fire();
    } catch (error) {
      this.log?.warn(`Reading the verification results in ${this.file}: ${describeError(error)}`);
    }
  }
}
