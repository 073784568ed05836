import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { removeTree } from './fileTree';
import { destinationError } from './fsErrors';
import { temporaryPath } from './restoreLayout';
import { releaseWork } from './workFolder';

/**
 * The temporary folder and file a restore builds in, and the parent folders it had to make:
 * all removed again unless kept (swapped in, or left for the next run to finish a swap).
 */
export class Workspace {
  private readonly made: string[] = [];
  /** [the deepest parent, the first folder mkdir made on the way to it]. */
  private readonly madeParents: Array<[string, string]> = [];
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
      throw destinationError(error, path.dirname(temp));
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
    for (const [deepest, first] of this.madeParents.reverse()) {
      // Only empty folders go: anything another process put there meanwhile stays.
      for (let dir = deepest; dir.startsWith(first); dir = path.dirname(dir)) {
        if (!(await fs.rmdir(dir).then(() => true, () => false))) {
          break;
        }
      }
    }
  }

  private async reserve(target: string): Promise<string> {
    const parent = path.dirname(target);
    const firstMade = await fs.mkdir(parent, { recursive: true }).catch((error) => {
      throw destinationError(error, parent);
    });
    if (firstMade) {
      this.madeParents.push([parent, firstMade]);
    }
    const temp = temporaryPath(target);
    this.made.push(temp);
    return temp;
  }
}
