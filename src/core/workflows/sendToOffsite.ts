import * as path from 'node:path';
import { passedSinceMade, recordVerification, verificationOf } from '../catalog/verificationStore';
import { TracBackupError } from '../shared/errors';
import { plural } from '../shared/format';
import { VerifyProgress, verifyBackup } from '../verify/verify';
import { OffsiteRepository, shownLocation } from '../offsite/resticRepository';
import { SendProgress, SendResult, sendBackup } from '../offsite/sendBackup';

export interface SendToOffsiteOptions {
  signal?: AbortSignal;
  /** The verification's progress (when the backup has not passed one since it was made), then the send's. */
  onProgress?: (event: VerifyProgress | SendProgress) => void;
  /** Called when the backup must be verified before it is sent. */
  onVerifying?: () => void;
  /** Called with restic's pid (tests). */
  onSpawn?: (pid: number) => void;
}

export interface SendToOffsiteResult extends SendResult {
  /** When the verification the send relied on began, and whether this send ran it. */
  verifiedAt: string;
  verifiedNow: boolean;
}

/**
 * Sends a backup offsite only once it is known good: when the verification store says it passed
 * a verification begun after it was made, that one counts; else it is verified first (and the
 * result recorded), and a backup that fails is refused before restic runs. A repository then
 * never holds a backup that was damaged when it was sent.
 */
export async function sendToOffsite(
  backupPath: string,
  repository: OffsiteRepository,
  options: SendToOffsiteOptions = {},
): Promise<SendToOffsiteResult> {
  const backup = path.resolve(backupPath);
  let record = await verificationOf(backup);
  let verifiedNow = false;
  if (!passedSinceMade(record)) {
    options.onVerifying?.();
    const verified = await verifyBackup(backup, { signal: options.signal, onProgress: options.onProgress });
    if (!verified.vanished) {
      record = await recordVerification(verified);
    }
    if (!verified.ok) {
      const first = verified.problems[0];
      throw new TracBackupError(
        'BACKUP_DAMAGED',
        `${backup} failed verification (${plural(verified.problems.length, 'problem')}; first: ${first?.path}: ${first?.problem}): ` +
          `it was not sent to ${shownLocation(repository.location)}. Send another backup, or make a new one.`,
        backup,
      );
    }
    verifiedNow = true;
  }
  const sent = await sendBackup(backup, repository, { signal: options.signal, onProgress: options.onProgress, onSpawn: options.onSpawn });
  return { ...sent, verifiedAt: record?.verifiedAt ?? new Date().toISOString(), verifiedNow };
}
