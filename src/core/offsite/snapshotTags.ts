import { createHash } from 'node:crypto';
import { environmentKey } from '../catalog/backupCatalog';

/** Every snapshot this tool sends carries this tag: other snapshots in a shared repository are not ours to list or prune. */
export const TOOL_TAG = 'trac-backup';

/**
 * The tags of a snapshot of a backup: the tool's, the environment's identity (a hash of the
 * machine and the path it was backed up from, links resolved, as backups are grouped locally:
 * environmentKey), its project name, the backup's folder name and its bytes (for the tree's row:
 * restic 0.14 keeps no size with a snapshot). restic splits tags at commas: none is left in.
 */
export function snapshotTags(backup: { name: string; bytes: number; environmentTag: string; projectName?: string }): string[] {
  return [
    TOOL_TAG,
    backup.environmentTag,
    ...(backup.projectName ? [`project:${tagValue(backup.projectName)}`] : []),
    `backup:${tagValue(backup.name)}`,
    `bytes:${backup.bytes}`,
  ];
}

/** The tag of an environment: `env:` and 16 hex digits of the SHA-256 of its machine and real path. */
export async function environmentTag(source: { sourcePath: string; sourceHost?: string }): Promise<string> {
  const key = await environmentKey(source);
  return `env:${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
}

/** The value of a `name:value` tag, if the snapshot has one. */
export function tagValue(value: string): string {
  return value.replace(/[,\s]+/g, '_');
}

export function readTag(tags: readonly string[] | undefined, name: string): string | undefined {
  const found = tags?.find((tag) => tag.startsWith(`${name}:`));
  return found?.slice(name.length + 1);
}
