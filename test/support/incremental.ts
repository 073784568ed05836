import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { attachmentRelativePath } from '../../src/core/trac/attachments';
import { walkTree } from '../../src/core/fs/fileTree';
import { BackupManifest, MANIFEST_FILE, ManifestFile } from '../../src/core/catalog/manifest';
import { loadSqlite } from '../../src/core/sqlite/sqlite';
import { sha256 } from './treeCompare';

/** Adds an attachment the way Trac does: its row in `attachment` and its file at the hashed path. Returns the path. */
export async function addAttachment(env: string, ticket: string, filename: string, content: string | Buffer): Promise<string> {
  const relative = attachmentRelativePath('ticket', ticket, filename);
  const file = path.join(env, ...relative.split('/'));
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, content);
  const db = new (loadSqlite())(path.join(env, 'db', 'trac.db'));
  try {
    db.prepare("INSERT INTO attachment VALUES ('ticket', ?, ?, ?, ?, 'added by a test', 'tester')").run(
      ticket,
      filename,
      Buffer.byteLength(content),
      Date.now() * 1000,
    );
  } finally {
    db.close();
  }
  return relative;
}

/** relative path → inode, for the regular files of a backup (its metadata file left out). */
export async function inodes(root: string): Promise<Map<string, { ino: number; nlink: number; mode: number }>> {
  const result = new Map<string, { ino: number; nlink: number; mode: number }>();
  for (const entry of await walkTree(root)) {
    if (entry.kind === 'file' && entry.relative !== MANIFEST_FILE) {
      const stats = await fs.lstat(entry.absolute);
      result.set(entry.relative, { ino: stats.ino, nlink: stats.nlink, mode: stats.mode & 0o7777 });
    }
  }
  return result;
}

/** The files of a manifest that differ from what is on disk (missing, other size or SHA-256). */
export async function filesNotMatchingManifest(backup: string, manifest: BackupManifest): Promise<string[]> {
  const problems: string[] = [];
  for (const entry of manifest.entries.filter((item): item is ManifestFile => item.type === 'file')) {
    const file = path.join(backup, ...entry.path.split('/'));
    const stats = await fs.stat(file).catch(() => undefined);
    if (!stats) {
      problems.push(`${entry.path}: missing`);
    } else if (stats.size !== entry.size || (await sha256(file)) !== entry.sha256) {
      problems.push(`${entry.path}: content differs`);
    }
  }
  return problems;
}
