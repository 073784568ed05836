import { closeSync, openSync, promises as fs, writeSync } from 'node:fs';
import * as path from 'node:path';
import { hotcopy } from '../../src/core/backup/hotcopy';
import { MANIFEST_FILE, readManifest } from '../../src/core/catalog/manifest';
import { loadSqlite } from '../../src/core/sqlite/sqlite';
import { FixtureName, copyFixture } from './fixtures';
import { fingerprintTree } from './treeCompare';

export interface RestoreCase {
  /** A backup made by hotcopy of the fixture. */
  backup: string;
  /** The environment to restore over: the fixture, changed after the backup was made. */
  env: string;
  /** Fingerprints of the environment as it is now, and of the backup without its metadata. */
  old: Map<string, string>;
  restored: Map<string, string>;
}

export const withoutManifest = (relative: string) => relative === MANIFEST_FILE;

/**
 * Under parent: `backups/b1`, a hotcopy of the fixture (after `prepare`), and `env`, the same
 * environment changed since (a new ticket, a new file, a removed file, a changed trac.ini), as a
 * restore finds it.
 */
export async function makeRestoreCase(
  parent: string,
  fixture: FixtureName = 'trac-1.6-populated',
  prepare?: (env: string) => Promise<void>,
): Promise<RestoreCase> {
  const env = await copyFixture(fixture, 'env', parent);
  await prepare?.(env);
  const backup = path.join(parent, 'backups', 'b1');
  await hotcopy(env, backup);
  await changeEnvironment(env);
  return { backup, env, old: await fingerprintTree(env), restored: await expectedRestore(backup) };
}

/**
 * The fingerprint (fingerprintTree) of what restoring `backup` gives: its files without the
 * metadata, each with the mode the metadata records (a backup keeps its files read-only).
 */
export async function expectedRestore(backup: string): Promise<Map<string, string>> {
  const tree = await fingerprintTree(backup, withoutManifest);
  for (const entry of (await readManifest(backup))?.entries ?? []) {
    const value = tree.get(entry.path);
    if (entry.type === 'file' && value) {
      const [sha256, , mtime] = value.split(' ');
      tree.set(entry.path, `${sha256} ${entry.mode.toString(8)} ${mtime}`);
    }
  }
  return tree;
}

/** Changes an environment the way a day of use does, with a ticket dated after `when`. */
export async function changeEnvironment(env: string, when: Date = new Date(Date.now() + 1000)): Promise<void> {
  const db = new (loadSqlite())(path.join(env, 'db', 'trac.db'));
  try {
    const micros = when.getTime() * 1000;
    db.prepare("INSERT INTO ticket (type, time, changetime, status, summary) VALUES ('defect', ?, ?, 'new', 'after the backup')").run(
      micros,
      micros,
    );
  } finally {
    db.close();
  }
  await fs.writeFile(path.join(env, 'htdocs', 'added-after-backup.txt'), 'new since the backup\n');
  await fs.rm(path.join(env, 'README'));
  const ini = path.join(env, 'conf', 'trac.ini');
  await fs.appendFile(ini, '\n[changed]\nafter = backup\n');
}

/**
 * Overwrites the cell pointers of a b-tree page in use near the middle of an SQLite file (so that
 * SQLite's checks read it), keeping the file's size. Returns the page number.
 */
export function corruptPageInMiddle(file: string): number {
  const db = new (loadSqlite())(file, { readonly: true, fileMustExist: true });
  let pageSize: number;
  let page: number;
  try {
    pageSize = db.pragma('page_size', { simple: true }) as number;
    const pages = db.pragma('page_count', { simple: true }) as number;
    const row = db
      .prepare("SELECT pageno FROM dbstat WHERE pagetype IN ('leaf', 'internal') ORDER BY abs(pageno - ?) LIMIT 1")
      .get(Math.floor(pages / 2)) as { pageno: number };
    page = row.pageno;
  } finally {
    db.close();
  }
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, Buffer.alloc(64, 0xa5), 0, 64, (page - 1) * pageSize + 8);
  } finally {
    closeSync(fd);
  }
  return page;
}

/** Entries of a folder that a restore of `env` may leave beside it: asides, temporaries, journals. */
export async function besideEnvironment(env: string): Promise<{ asides: string[]; work: string[] }> {
  const names = await fs.readdir(path.dirname(env));
  const base = path.basename(env);
  return {
    asides: names.filter((name) => name.startsWith(`${base}.before-restore-`)).sort(),
    work: names.filter((name) => name.startsWith(`.${base}.restore-`)).sort(),
  };
}

/** True when two fingerprints (fingerprintTree) are the same tree. */
export function sameTree(a: Map<string, string>, b: Map<string, string>): boolean {
  return a.size === b.size && [...a].every(([key, value]) => b.get(key) === value);
}
