import { Progress } from '../shared/progress';

/**
 * The steps of a hot backup, in order:
 * - scan: list the environment's files;
 * - copy: copy them, without any lock;
 * - catch-up: copy again what changed meanwhile, still without a lock;
 * - lock: wait for Trac's database write lock;
 * - snapshot: under that lock, snapshot the database and bring the attachments in line with it;
 * - finish: lock released, catch up on the other files (configuration, logs, …);
 * - verify: check the database snapshot and write the metadata;
 * - publish: move the finished backup into place.
 */
export type HotcopyPhase = 'scan' | 'copy' | 'catch-up' | 'lock' | 'snapshot' | 'finish' | 'verify' | 'publish';

export const HOTCOPY_PHASES: readonly HotcopyPhase[] = ['scan', 'copy', 'catch-up', 'lock', 'snapshot', 'finish', 'verify', 'publish'];

export type HotcopyProgress = Progress<HotcopyPhase>;
