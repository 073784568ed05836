import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { removeTree } from '../fs/fileTree';
import { MadeFolders, destinationError, makeFolders, removeMadeFolders } from '../fs/fsErrors';
import { releaseWork, workPathFor } from '../work/workFolder';

/**
 * The temporary folder and file a restore builds in, and the parent folders it had to make:
 * all removed again unless kept (swapped in, or left for the next run to finish a swap).
 */
export class Workspace {
  private readonly made: string[] = [];
  private readonly madeParents: MadeFolders[] = [];
  private kept = false;

  /** A new private folder to build the copy of `target` in. */
  async folder(target: string): Promise<string> {
    const temp = await this.reserve(target);
    await this.makeFolder(temp);
    return temp;
  }

  /** A name beside `target` for a copy to be put there (a file, or a folder moved in). */
  async name(target: string): Promise<string> {
    return this.reserve(target);
  }

  /** Makes the private folder at a name reserved with name(). */
  async makeFolder(temp: string): Promise<void> {
    await fs.mkdir(temp, { mode: 0o700 }).catch((error) => {
      throw destinationError(error, path.dirname(temp), 'restore');
    });
  }

  keep(): void {
    this.kept = true;
  }

  async discard(): Promise<void> {
    for (const made of this.made) {
      if (!this.kept) {
        await removeTree(made).catch(() => undefined);
      }
      releaseWork(made);
    }
    if (this.kept) {
      return;
    }
    for (const made of this.madeParents.reverse()) {
      await removeMadeFolders(made);
    }
  }

  private async reserve(target: string): Promise<string> {
    const parent = path.dirname(target);
    const made = await makeFolders(parent, 'restore');
    if (made) {
      this.madeParents.push(made);
    }
    const temp = workPathFor(target, 'restore');
    this.made.push(temp);
    return temp;
  }
}
