import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { hashFile } from '../fs/fileCopy';
import { setIniOption } from '../trac/tracIni';
import { TreeMirror } from '../fs/treeMirror';

const CONFIG_RELATIVE = 'conf/trac.ini';

/**
 * Points the backup's trac.ini at the snapshot of an external database stored inside it
 * (`storedAt`, relative), keeping the URL's parameters. Trac then opens the backup as is, and
 * opening it never touches the live database (a backup opened by Trac must not write to
 * production); the original value goes into the metadata, for a restore to put back.
 */
export async function pointConfigAtDatabase(
  backupRoot: string,
  mirror: TreeMirror,
  storedAt: string,
  originalUrl: string,
): Promise<{ file: string; originalUrl: string }> {
  const file = path.join(backupRoot, ...CONFIG_RELATIVE.split('/'));
  const mode = mirror.records.get(CONFIG_RELATIVE)?.mode ?? 0o644;
  const text = await fs.readFile(file, 'utf8');
  const query = originalUrl.includes('?') ? originalUrl.slice(originalUrl.indexOf('?')) : '';
  const rewritten = setIniOption(text, 'trac', 'database', `sqlite:${storedAt}${query}`);
  // Removed first: the copy may be read-only, or a link.
  await fs.rm(file, { force: true });
  await fs.writeFile(file, rewritten, { mode });
  await fs.chmod(file, mode);
  const stats = await fs.stat(file);
  mirror.addFile(CONFIG_RELATIVE, {
    mode,
    size: stats.size,
    atimeMs: stats.atimeMs,
    mtimeMs: stats.mtimeMs,
    ctimeMs: stats.ctimeMs,
    ino: stats.ino,
    sha256: await hashFile(file),
  });
  return { file: CONFIG_RELATIVE, originalUrl };
}
