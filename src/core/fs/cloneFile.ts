import { constants, promises as fs } from 'node:fs';
import { errnoCode } from '../shared/errors';

/**
 * Errors of a clone that say the file systems cannot share blocks here (no reflink support, two
 * file systems, a kernel or platform without the call): every file from that source device would
 * fail alike, so they are copied without trying again.
 */
const CLONES_IMPOSSIBLE = new Set(['ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'EINVAL', 'ENOSYS', 'ENOTTY', 'EBADF', 'EPERM']);

const CLONE = constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE_FORCE;
const COPY = constants.COPYFILE_EXCL;

/**
 * Copy-on-write clones into one destination: a file is first cloned (FICLONE on XFS with reflink
 * and btrfs, clonefile on APFS), sharing the source's blocks, and copied through the kernel
 * (copy_file_range, sendfile) where that is refused, silently. A refusal that holds for a whole
 * file system stops the attempts for files from that device. The target must not exist; a clone
 * that fails leaves no target behind (libuv removes what it created).
 */
export class CloneAttempts {
  /** Files cloned, and copied, so far. */
  cloned = 0;
  copied = 0;
  private readonly refusedFrom = new Set<number>();

  /** Clones or copies `source` to `target`; true when it was cloned. */
  async copy(source: string, target: string, sourceDevice: number): Promise<boolean> {
    if (!this.refusedFrom.has(sourceDevice)) {
      try {
        await fs.copyFile(source, target, CLONE);
        this.cloned += 1;
        return true;
      } catch (error) {
        this.refused(error, sourceDevice);
      }
    }
    await fs.copyFile(source, target, COPY);
    this.copied += 1;
    return false;
  }

  /** What a failed clone means: a file system that cannot, or something the copy will meet and report itself. */
  private refused(error: unknown, sourceDevice: number): void {
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'EEXIST') {
      throw error;
    }
    if (code && CLONES_IMPOSSIBLE.has(code)) {
      this.refusedFrom.add(sourceDevice);
    }
  }
}
