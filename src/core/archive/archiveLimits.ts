import { Transform } from 'node:stream';
import { expansionError } from './archiveErrors';
import { TracBackupError } from '../shared/errors';
import { formatBytes } from '../shared/format';

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

/**
 * How far an untrusted archive may go before it is refused as a bomb (or a mistake). All are
 * checked as the archive is read, before what they measure is written.
 */
export interface ArchiveLimits {
  /** The most the archive may expand to: its tar stream, contents and headers. */
  maxBytes: number;
  /** The most entries (files, folders, links). */
  maxEntries: number;
  /** The most names in an entry's path (a top folder counts as one). */
  maxDepth: number;
  /** Past `ratioGraceBytes`, the most bytes the archive may expand to per byte of it. */
  maxRatio: number;
  /** What any archive may expand to, whatever its ratio. */
  ratioGraceBytes: number;
}

/**
 * Sized for Trac environments, not for archives in general:
 * - maxRatio 200: a gzip'd Trac backup expands 2 to 10 times (its SQLite database 3 to 10, its
 *   attachments, mostly already compressed, about once; the test fixtures 2.5 and 5). Deflate
 *   tops out near 1030:1, the ratio of a file of zeros: 200 leaves a wide margin for a database
 *   full of emptied pages and still refuses a bomb after its first `ratioGraceBytes`.
 * - ratioGraceBytes 64 MiB: small archives are refused on their ratio only once writing them
 *   could matter.
 * - maxBytes 256 GiB: above the largest Trac sites in use (tens of GB, mostly attachments), and
 *   still a stop for a header that claims terabytes. Free disk space is checked as well.
 * - maxEntries 1,000,000: each attachment is a file in two folders of its own, so this fits
 *   300,000 attachments; beyond it, the count alone (inodes, time) is the attack.
 * - maxDepth 64: a Trac environment is at most about 8 deep (files/attachments/ticket/<h>/<h>/
 *   <name>), plugins' and templates' own trees a few more.
 */
export const DEFAULT_ARCHIVE_LIMITS: Readonly<ArchiveLimits> = {
  maxBytes: 256 * GIB,
  maxEntries: 1_000_000,
  maxDepth: 64,
  maxRatio: 200,
  ratioGraceBytes: 64 * MIB,
};

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);

/** The limits that apply to an archive of `archiveBytes`: the byte budget follows from its size. */
export function byteBudget(limits: ArchiveLimits, archiveBytes: number): { bytes: number; byRatio: boolean } {
  const byRatio = Math.max(limits.ratioGraceBytes, archiveBytes * limits.maxRatio);
  return byRatio < limits.maxBytes ? { bytes: byRatio, byRatio: true } : { bytes: limits.maxBytes, byRatio: false };
}

/**
 * Counts an archive's bytes on both sides of gunzip, and fails the stream as soon as it
 * expands past the limits: trailing data after the tar's end, or a header too big to be
 * extracted, expand without any entry saying so.
 */
export class ExpansionMeter {
  compressed = 0;
  expanded = 0;
  private head = Buffer.alloc(0);

  constructor(
    private readonly archive: string,
    private readonly limits: ArchiveLimits,
    private readonly onRead?: (compressed: number) => void,
  ) {}

  /** Goes before gunzip. */
  countCompressed(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _encoding, callback) => {
        this.compressed += chunk.length;
        this.onRead?.(this.compressed);
        callback(null, chunk);
      },
    });
  }

  /** Goes after gunzip. */
  checkExpanded(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _encoding, callback) => {
        if (this.head.length < GZIP_MAGIC.length) {
          this.head = Buffer.concat([this.head, chunk.subarray(0, GZIP_MAGIC.length - this.head.length)]);
          if (this.head.equals(GZIP_MAGIC)) {
            // node-tar would gunzip it again, out of this meter's sight.
            callback(expansionError(this.archive, 'is compressed twice (a gzip file inside the gzip)'));
            return;
          }
        }
        this.expanded += chunk.length;
        callback(this.problem(), chunk);
      },
    });
  }

  private problem(): TracBackupError | null {
    const { maxBytes, maxRatio, ratioGraceBytes } = this.limits;
    if (this.expanded > maxBytes) {
      return expansionError(this.archive, `expands to more than ${formatBytes(maxBytes)}`);
    }
    if (this.expanded > ratioGraceBytes && this.expanded > this.compressed * maxRatio) {
      return expansionError(
        this.archive,
        `expands more than ${maxRatio} times (${formatBytes(this.compressed)} read gave ${formatBytes(this.expanded)})`,
      );
    }
    return null;
  }
}
