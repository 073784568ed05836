import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ServerDumpSession } from '../serverDatabase/serverSession';
import { TreeMirror } from '../fs/treeMirror';
import { WalkOptions } from '../fs/fileTree';
import { destinationError } from '../fs/fsErrors';
import { closeAll, findSuspects, openForCopy, planAttachments } from './lockedAttachments';
import { realFolderInWork } from './backupDestination';
import { HotcopyPhase } from './backupProgress';

/** What the hot backup lends the dump of a server database. */
export interface ServerDumpContext {
  root: string;
  temp: string;
  dest: string;
  mirror: TreeMirror;
  follow: WalkOptions['follow'];
  signal?: AbortSignal;
  enter: (phase: HotcopyPhase) => void;
}

/**
 * The dump of a PostgreSQL or MySQL/MariaDB database, its attachments agreeing with it:
 * attachment writers are held off (the session's freeze) while the snapshot is fixed, the rows in
 * it read, and the attachment files that must change in the backup opened; then they go on,
 * and the files are copied from the open descriptors while the dump runs. Trac writes an
 * attachment's file in the transaction that inserts its row and deletes it in the one that
 * deletes the row, so with no attachment transaction in flight the files agree with the snapshot.
 */
export async function dumpServerDatabase(context: ServerDumpContext, server: ServerDumpSession) {
  const { mirror, root, signal } = context;
  context.enter('lock');
  const storedAt = server.storedAt;
  const folder = await realFolderInWork(context.temp, path.posix.dirname(storedAt), root, context.dest);
  const target = path.join(folder, path.posix.basename(storedAt));
  await server.prepareDump?.(target, signal);
  const frozen = await server.freeze(signal);
  const createdAt = new Date();
  let lockMs = 0;
  let descriptors = new Map<string, number>();
  try {
    context.enter('snapshot');
    let plan: ReturnType<typeof planAttachments> | undefined = planAttachments(
      root,
      mirror,
      findSuspects(mirror, frozen.rows),
      (relative) => frozen.rows.get(relative),
      context.follow,
    );
    if (process.platform === 'win32') {
      // Windows refuses to delete an open file: there, Trac's deletes must not meet our handles.
      await mirror.apply(plan.present, plan.absent, plan);
      plan = undefined;
    } else {
      descriptors = openForCopy(plan.toCopy);
    }
    if (!server.dumpNeedsLock) {
      lockMs = await server.thaw();
    }
    const dump = server.startDump(target, signal);
    dump.done.catch(() => undefined);
    await dump.begun;
    lockMs ||= await server.thaw();
    await dump.done;
    if (plan) {
      await mirror.apply(plan.present, plan.absent, { ...plan, sources: descriptors });
    }
    const stats = await fs.stat(target).catch((error: unknown) => {
      throw destinationError(error, context.dest);
    });
    mirror.addFile(storedAt, {
      mode: 0o600,
      size: stats.size,
      atimeMs: stats.atimeMs,
      mtimeMs: stats.mtimeMs,
      ctimeMs: stats.ctimeMs,
      ino: stats.ino,
    });
  } finally {
    lockMs ||= await server.thaw();
    closeAll(descriptors);
  }
  return { lockMs, lockWaitMs: frozen.waitMs, createdAt, version: frozen.version };
}
