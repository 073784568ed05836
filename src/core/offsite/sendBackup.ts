import * as os from 'node:os';
import * as path from 'node:path';
import { TracBackupError } from '../shared/errors';
import { readManifestHead } from '../catalog/manifest';
import { localDateTime } from '../shared/format';
import { Progress } from '../shared/progress';
import { promises as fs } from 'node:fs';
import { errnoCode } from '../shared/errors';
import { OffsiteRepository, shownLocation } from './resticRepository';
import { runRestic } from './resticProcess';
import { environmentTag, snapshotTags } from './snapshotTags';

/** A send has one phase: restic reading and uploading the backup. */
export type SendPhase = 'send';
export type SendProgress = Progress<SendPhase>;

export interface SendResult {
  backup: string;
  /** The repository, as messages show it (no credentials). */
  repository: string;
  /** The new snapshot's id (restic's short id). */
  snapshot: string;
  tags: string[];
  /** The backup's files and bytes restic read. */
  files: number;
  bytes: number;
  /** Files restic had not seen in this repository's previous snapshot of the same paths, and those unchanged. */
  filesNew: number;
  filesChanged: number;
  filesUnmodified: number;
  /** What the repository grew by (restic's data_added: new chunks, after deduplication, before compression). */
  bytesAdded: number;
  durationMs: number;
}

interface ResticSummary {
  message_type: 'summary';
  files_new?: number;
  files_changed?: number;
  files_unmodified?: number;
  data_added?: number;
  total_files_processed?: number;
  total_bytes_processed?: number;
  snapshot_id?: string;
}

/**
 * Sends a backup folder made by this tool to the repository as one restic snapshot of its
 * content (backed up as `.` from inside it, so that a snapshot holds the backup's files at its
 * root, and backups of one environment, or of many, deduplicate against each other chunk by
 * chunk). The snapshot is dated when the backup was made and tagged with the environment's
 * identity (snapshotTags). Checks nothing itself: the workflow sendToOffsite verifies first.
 * A cancel stops restic (see runRestic): no snapshot is written, and the data restic uploaded
 * meanwhile is unreferenced until a prune removes it.
 */
export async function sendBackup(
  backupPath: string,
  repository: OffsiteRepository,
  options: { signal?: AbortSignal; onProgress?: (event: SendProgress) => void; onSpawn?: (pid: number) => void } = {},
): Promise<SendResult> {
  const started = performance.now();
  const backup = path.resolve(backupPath);
  const stats = await fs.stat(backup).catch((error: unknown) => errnoCode(error) ?? 'unreadable');
  if (typeof stats === 'string' || !stats.isDirectory()) {
    const why = stats === 'ENOENT' ? 'does not exist' : typeof stats === 'string' ? `cannot be read (${stats})` : 'is not a folder';
    throw new TracBackupError('INVALID_ARGUMENT', `Can't send ${backup} offsite: it ${why}. Choose a backup folder.`, backup);
  }
  const head = await readManifestHead(backup);
  if (!head) {
    throw new TracBackupError(
      'MANIFEST_INVALID',
      `${backup} has no trac-backup metadata (.trac-backup.json): only backups made by trac-backup can be sent offsite (make one with trac-backup hotcopy).`,
      backup,
    );
  }
  const tags = snapshotTags({
    name: path.basename(backup),
    bytes: head.bytes,
    environmentTag: await environmentTag({ sourcePath: head.source.path, sourceHost: head.source.host }),
    projectName: head.source.projectName,
  });
  let summary: ResticSummary | undefined;
  const errors: string[] = [];
  const output = await runRestic(repository, {
    args: ['backup', '--json', '--host', os.hostname(), '--time', localDateTime(new Date(head.createdAt)), '--tag', tags.join(','), '.'],
    cwd: backup,
    signal: options.signal,
    what: 'The send',
    onSpawn: options.onSpawn,
    okExit: (result) => result.code === 3, // a snapshot was made, but without some files: refused below
    onJson: (message) => {
      if (message.message_type === 'status') {
        options.onProgress?.({
          phase: 'send',
          bytesDone: Number(message.bytes_done ?? 0),
          bytesTotal: Number(message.total_bytes ?? 0),
          filesDone: Number(message.files_done ?? 0),
          filesTotal: Number(message.total_files ?? 0),
          ...(Array.isArray(message.current_files) &&
            typeof message.current_files[0] === 'string' && { path: message.current_files[0].replace(/^\//, '') }),
        });
      } else if (message.message_type === 'summary') {
        summary = message as unknown as ResticSummary;
      } else if (message.message_type === 'error') {
        errors.push(`${JSON.stringify(message.item ?? '')}: ${JSON.stringify(message.error ?? '')}`);
      }
    },
  });
  if (output.code === 3 || !summary?.snapshot_id) {
    if (summary?.snapshot_id) {
      await runRestic(repository, { args: ['forget', summary.snapshot_id], what: 'The send' }).catch(() => undefined);
    }
    throw new TracBackupError(
      'OFFSITE_FAILED',
      `restic could not read every file of ${backup} (${errors.slice(0, 3).join('; ') || 'no summary'}): nothing was sent to ` +
        `${shownLocation(repository.location)}. Check that you can read the backup, then send it again.`,
      backup,
    );
  }
  return {
    backup,
    repository: shownLocation(repository.location),
    snapshot: summary.snapshot_id,
    tags,
    files: summary.total_files_processed ?? 0,
    bytes: summary.total_bytes_processed ?? 0,
    filesNew: summary.files_new ?? 0,
    filesChanged: summary.files_changed ?? 0,
    filesUnmodified: summary.files_unmodified ?? 0,
    bytesAdded: summary.data_added ?? 0,
    durationMs: Math.round(performance.now() - started),
  };
}
