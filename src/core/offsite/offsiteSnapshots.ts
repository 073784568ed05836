import { TracBackupError } from '../shared/errors';
import { OffsiteRepository, shownLocation } from './resticRepository';
import { runRestic } from './resticProcess';
import { TOOL_TAG, environmentTag, readTag } from './snapshotTags';

/** A snapshot this tool sent: one backup of one environment, as the repository lists it. */
export interface OffsiteSnapshot {
  id: string;
  shortId: string;
  /** When the backup was made (the snapshot's time is the backup's), ISO 8601. */
  time: string;
  /** The machine that sent it. */
  host: string;
  /** The environment's identity tag (env:…), the project's name and the backup's folder name, as tagged. */
  environmentTag?: string;
  projectName?: string;
  backupName?: string;
  /** The backup's bytes, as tagged when it was sent. */
  bytes?: number;
  tags: string[];
}

interface ResticSnapshotJson {
  id: string;
  short_id?: string;
  time: string;
  hostname?: string;
  tags?: string[];
}

/**
 * The snapshots this tool sent to the repository, newest first; with `environment`, only that
 * environment's (its identity tag: this machine and its path). Other snapshots (restic used by
 * hand, other tools) are left out.
 */
export async function listOffsiteSnapshots(
  repository: OffsiteRepository,
  options: { environment?: string; signal?: AbortSignal } = {},
): Promise<OffsiteSnapshot[]> {
  const tags = [TOOL_TAG, ...(options.environment ? [await environmentTag({ sourcePath: options.environment })] : [])];
  const output = await runRestic(repository, {
    args: ['snapshots', '--json', '--tag', tags.join(',')],
    signal: options.signal,
    what: 'The listing of offsite snapshots',
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(output.stdout.trim() || '[]');
  } catch {
    throw new TracBackupError(
      'OFFSITE_FAILED',
      `restic snapshots gave no list for ${shownLocation(repository.location)}: is it restic 0.14 or newer?`,
      shownLocation(repository.location),
    );
  }
  const snapshots = (Array.isArray(parsed) ? (parsed as ResticSnapshotJson[]) : []).map(toSnapshot);
  // restic keeps a snapshot's time to the second: backups of one second are told apart by their names (a later one is named after)
  const byName = (a: OffsiteSnapshot, b: OffsiteSnapshot) =>
    (b.backupName ?? '').localeCompare(a.backupName ?? '', 'en', { numeric: true });
  return snapshots.sort((a, b) => Date.parse(b.time) - Date.parse(a.time) || byName(a, b) || (a.id < b.id ? 1 : -1));
}

function toSnapshot(json: ResticSnapshotJson): OffsiteSnapshot {
  const tags = json.tags ?? [];
  const bytes = Number(readTag(tags, 'bytes'));
  const env = readTag(tags, 'env');
  return {
    id: json.id,
    shortId: json.short_id ?? json.id.slice(0, 8),
    time: new Date(json.time).toISOString(),
    host: json.hostname ?? '',
    ...(env && { environmentTag: `env:${env}` }),
    ...(readTag(tags, 'project') && { projectName: readTag(tags, 'project') }),
    ...(readTag(tags, 'backup') && { backupName: readTag(tags, 'backup') }),
    ...(Number.isFinite(bytes) && { bytes }),
    tags,
  };
}

/**
 * The snapshot `wanted` names (an id or its prefix, or `latest`) among this tool's. `latest` is
 * the newest of the environment's own (this machine, its path); when it has none (a restore
 * onto a new machine after the old disk died), the newest of the only environment the
 * repository holds; with several, it refuses and lists each one's newest snapshot.
 */
export async function findOffsiteSnapshot(
  repository: OffsiteRepository,
  wanted: string,
  environment: string,
  signal?: AbortSignal,
): Promise<OffsiteSnapshot> {
  const where = shownLocation(repository.location);
  const all = await listOffsiteSnapshots(repository, { signal });
  if (wanted === 'latest') {
    const tag = await environmentTag({ sourcePath: environment });
    const own = all.filter((snapshot) => snapshot.environmentTag === tag);
    if (own.length > 0) {
      return own[0];
    }
    const newestOfEach = new Map<string, OffsiteSnapshot>();
    for (const snapshot of all) {
      if (!newestOfEach.has(snapshot.environmentTag ?? '')) {
        newestOfEach.set(snapshot.environmentTag ?? '', snapshot);
      }
    }
    if (newestOfEach.size === 1) {
      return all[0];
    }
    if (newestOfEach.size === 0) {
      throw new TracBackupError('INVALID_ARGUMENT', `The offsite repository ${where} holds no snapshot sent by trac-backup.`, where);
    }
    const choices = [...newestOfEach.values()].map((snapshot) => `${snapshot.shortId} (${describeSnapshot(snapshot)})`).join('; ');
    throw new TracBackupError(
      'INVALID_ARGUMENT',
      `The offsite repository ${where} holds snapshots of ${newestOfEach.size} environments, none of ${environment}: ` +
        `name the snapshot to restore instead of latest (the newest of each: ${choices}).`,
      where,
    );
  }
  const matches = all.filter((snapshot) => snapshot.id.startsWith(wanted.toLowerCase()));
  if (matches.length === 1) {
    return matches[0];
  }
  throw new TracBackupError(
    'INVALID_ARGUMENT',
    matches.length === 0
      ? `The offsite repository ${where} holds no snapshot ${wanted} sent by trac-backup: list them with trac-backup offsite-list ${where}.`
      : `${wanted} names ${matches.length} snapshots in ${where}: give more of its id.`,
    where,
  );
}

/** "project main, backup trac-20260101-120000 made 2026-01-01T12:00:00.000Z on host". */
export function describeSnapshot(snapshot: OffsiteSnapshot): string {
  return [
    snapshot.projectName && `project ${snapshot.projectName}`,
    snapshot.backupName && `backup ${snapshot.backupName}`,
    `made ${snapshot.time}`,
    snapshot.host && `on ${snapshot.host}`,
  ]
    .filter(Boolean)
    .join(', ');
}
