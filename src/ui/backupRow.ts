// The words beside a backup row's date in the tree. Kept free of `vscode` so that unit tests can
// read exactly what a person sees; short enough for the default sidebar width, where the date
// takes most of the row: the tooltip says the rest.
import { BackupInfo, formatBytes, isKeptBeforeRestore } from '../core';

/** The description: its size, or "kept" for the environment a restore set aside. */
export function backupRowDescription(backup: BackupInfo): string {
  return isKeptBeforeRestore(backup.name) ? 'kept' : formatBytes(backup.bytes);
}

/** What a screen reader says for the row (the words the description shortens, in full). */
export function backupRowAccessibleLabel(backup: BackupInfo, date: string, verified: string): string {
  const what = isKeptBeforeRestore(backup.name) ? `kept before restore, ${formatBytes(backup.bytes)}` : formatBytes(backup.bytes);
  return `${date}, ${what}, ${verified}`;
}
