import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/**
 * File systems on which SQLite's POSIX locks may not reach the writers on the other side, by
 * statfs's f_type: network file systems, WSL 2's /mnt/c (9p, drvfs), Docker Desktop's bind
 * mounts (virtiofs, FUSE: gRPC FUSE, osxfs). SQLite's own documentation warns about them.
 */
const UNRELIABLE_LOCKING: ReadonlyMap<number, string> = new Map([
  [0x6969, 'NFS'],
  [0xff534d42, 'SMB (CIFS)'],
  [0xfe534d42, 'SMB 2'],
  [0x517b, 'SMB'],
  [0x01021997, '9p (WSL 2 /mnt/…, a VM share)'],
  [0x6a656a63, 'virtiofs (Docker Desktop, a VM share)'],
  [0x65735546, 'FUSE (Docker Desktop bind mount, sshfs, …)'],
  [0x00c36400, 'Ceph'],
  [0x5346414f, 'AFS'],
  [0x47504653, 'GPFS'],
  [0x0bd00bd0, 'Lustre'],
]);

/** The kind of a statfs f_type whose locks SQLite cannot rely on, or undefined. */
export function unreliableLockingKind(type: number): string | undefined {
  return UNRELIABLE_LOCKING.get(type >>> 0);
}

/**
 * A warning when a live database lies on a file system whose locks may not stop writers on the
 * other side (a Windows program writing through /mnt/c, a container's host): a snapshot taken
 * there while they write could be torn. Undefined where locking is local, or statfs cannot say.
 */
export async function lockingWarning(databaseFile: string): Promise<string | undefined> {
  const stats = await fs.statfs(path.dirname(databaseFile)).catch(() => undefined);
  const kind = stats && unreliableLockingKind(Number(stats.type));
  return kind
    ? `${databaseFile} is on a ${kind} file system, where SQLite's locks may not keep out writers on the other side ` +
        "(another machine, the Windows host, a container's host): a backup taken while they write could be torn. " +
        'Back up where Trac runs, or with Trac stopped, and verify the backup.'
    : undefined;
}
