import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { releaseWork, sweepDeadWork, workPathFor } from '../work/workFolder';

/**
 * A new folder in `parent` to unpack the archive `name` into, private to this user. Its name
 * carries this process's id (see workFolder.ts), so that one left by a process that was killed can
 * be told from one in use. Call release() when done with it (after removing it).
 */
export async function makeUnpackFolder(parent: string, name: string): Promise<{ folder: string; release: () => void }> {
  const folder = workPathFor(path.join(parent, name), 'unpack');
  try {
    await fs.mkdir(folder, { mode: 0o700 });
  } catch (error) {
    releaseWork(folder);
    throw error;
  }
  return { folder, release: () => releaseWork(folder) };
}

/**
 * Removes the unpack folders in `parent` whose process is gone (killed while unpacking, before
 * it could clean up), and returns their paths. Folders of running processes are left alone.
 */
export async function sweepUnpackFolders(parent: string): Promise<string[]> {
  return (await sweepDeadWork(parent, ['unpack'])).filter((swept) => swept.action === 'removed').map((swept) => swept.path);
}
