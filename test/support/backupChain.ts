import * as path from 'node:path';
import { hotcopy } from '../../src/core/backup/hotcopy';
import { readManifest, writeManifest } from '../../src/core/catalog/manifest';
import { addAttachment } from './incremental';

/**
 * Backs up `env` into folder once per date, each backup linked from the one before and one
 * attachment added between them; the metadata then says it was made at that date (local time).
 */
export async function makeBackupChain(env: string, folder: string, dates: Date[]): Promise<string[]> {
  const made: string[] = [];
  for (const [index, date] of dates.entries()) {
    if (index > 0) {
      await addAttachment(env, String(1 + index), `between-${index}.txt`, `added before backup ${index}`);
    }
    const name = `${path.basename(env)}-${stamp(date)}`;
    const result = await hotcopy(env, path.join(folder, name), { linkDest: made.at(-1) });
    await redate(result.dest, date);
    made.push(result.dest);
  }
  return made;
}

/** Makes a backup's metadata say it was made at `date`. */
export async function redate(backup: string, date: Date): Promise<void> {
  const manifest = (await readManifest(backup))!;
  await writeManifest(backup, { ...manifest, createdAt: date.toISOString() });
}

function stamp(date: Date): string {
  const two = (value: number) => String(value).padStart(2, '0');
  return `${date.getFullYear()}${two(date.getMonth() + 1)}${two(date.getDate())}-${two(date.getHours())}${two(date.getMinutes())}${two(date.getSeconds())}`;
}
