import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exportArchive } from '../../../src/core/archive/exportArchive';
import { whyChangedSinceMade, whyChangedSinceMadeQuick } from '../../../src/core/catalog/changedSinceMade';
import { discoverEnvironments } from '../../../src/core/trac/discovery';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { readManifest } from '../../../src/core/catalog/manifest';
import { deleteBackup, pruneBackups } from '../../../src/core/catalog/prune';
import { loadSqlite } from '../../../src/core/sqlite/sqlite';
import { redate } from '../../support/backupChain';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';

const local = (day: number) => new Date(2024, 0, day, 12);

/** What a person does by hand, as `archive --help` advises: `tar xzf <archive> -C <folder>`. */
function untar(archive: string, folder: string): void {
  execFileSync('mkdir', ['-p', folder]);
  execFileSync('tar', ['xzf', archive, '-C', folder]);
}

/** A Trac at work: a new ticket in the database, a line in its log. */
async function tracWorksIn(env: string): Promise<void> {
  const db = new (loadSqlite())(path.join(env, 'db', 'trac.db'));
  try {
    db.prepare("INSERT INTO ticket (id, type, time, changetime, summary, status) VALUES (9001, 'defect', 1, 1, 'new work', 'new')").run();
  } finally {
    db.close();
  }
  await fs.mkdir(path.join(env, 'log'), { recursive: true });
  await fs.appendFile(path.join(env, 'log', 'trac.log'), 'Trac started\n');
}

describe('a folder that changed since it was made is not a backup any more', () => {
  let tmp: string;
  let env: string;
  let folder: string;
  let archive: string;
  let older: string;
  let newer: string;
  before(async () => {
    tmp = await makeTempDir();
    env = await copyFixture('trac-1.6-populated', 'main', tmp);
    folder = path.join(tmp, 'trac');
    older = (await hotcopy(env, path.join(folder, 'main-20240101-120000'))).dest;
    await redate(older, local(1));
    newer = (await hotcopy(env, path.join(folder, 'main-20240102-120000'))).dest;
    await redate(newer, local(2));
    archive = path.join(tmp, 'main-20240101.tar.gz');
    await exportArchive(older, archive);
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it('sees an environment put back by hand with tar xzf, then used, as changed; a backup as unchanged', async () => {
    const restored = path.join(tmp, 'by-hand', 'main');
    untar(archive, restored);
    const manifest = (await readManifest(restored))!;
    assert.equal(await whyChangedSinceMade(restored, manifest), undefined, 'right after tar xzf it is the backup, byte for byte');
    assert.equal(await whyChangedSinceMadeQuick(restored, manifest), undefined);
    await tracWorksIn(restored);
    assert.match((await whyChangedSinceMade(restored, manifest)) ?? '', /db\/trac\.db|log\/trac\.log/);
    assert.match((await whyChangedSinceMadeQuick(restored, manifest)) ?? '', /db\/trac\.db/);
    for (const backup of [older, newer]) {
      assert.equal(await whyChangedSinceMade(backup, (await readManifest(backup))!), undefined, backup);
    }
  });

  it('prune keeps, as changed, an environment put back by hand in the folder it prunes, with its new work', async () => {
    const restored = path.join(folder, 'main');
    untar(archive, restored);
    await tracWorksIn(restored);

    const result = await pruneBackups(folder, { keepLast: 1 });

    assert.deepEqual(result.removed, [older]);
    const kept = new Map(result.keep.map(({ backup, reasons }) => [backup.path, reasons.join('; ')]));
    assert.match(kept.get(restored) ?? '', /^changed since it was made: .* — not a backup any more, left alone$/);
    const tickets = new (loadSqlite())(path.join(restored, 'db', 'trac.db'), { readonly: true });
    try {
      assert.equal(
        (tickets.prepare('SELECT count(*) AS n FROM ticket WHERE id = 9001').get() as { n: number }).n,
        1,
        'its new work is there',
      );
    } finally {
      tickets.close();
    }
    await assert.rejects(deleteBackup(restored), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'INVALID_ARGUMENT');
      assert.ok(error.message.includes(restored), error.message);
      assert.match(error.message, /changed since it was made/);
      return true;
    });
    assert.ok((await fs.readdir(folder)).includes('main'));
  });

  it('counts a database with a -wal, -shm or -journal beside it as changed, even with nothing else new', async () => {
    for (const side of ['-wal', '-shm', '-journal']) {
      const restored = path.join(tmp, `side${side}`, 'main');
      untar(archive, restored);
      const manifest = (await readManifest(restored))!;
      await fs.writeFile(path.join(restored, 'db', `trac.db${side}`), '');
      assert.match((await whyChangedSinceMade(restored, manifest)) ?? '', new RegExp(`trac\\.db${side}`));
      assert.match((await whyChangedSinceMadeQuick(restored, manifest)) ?? '', new RegExp(`trac\\.db${side}`));
    }
  });

  it('names a file added, removed or rewritten with the same size', async () => {
    const cases: Array<[string, (root: string) => Promise<void>, RegExp]> = [
      ['added', (root) => fs.writeFile(path.join(root, 'htdocs', 'new.css'), 'body {}'), /htdocs\/new\.css/],
      ['removed', (root) => fs.rm(path.join(root, 'README')), /README/],
      [
        'rewritten',
        async (root) => {
          const file = path.join(root, 'conf', 'trac.ini');
          const text = await fs.readFile(file, 'utf8');
          await fs.chmod(file, 0o644);
          await fs.writeFile(file, text.replace(/a/, 'b'));
        },
        /conf\/trac\.ini/,
      ],
    ];
    for (const [what, change, reason] of cases) {
      const restored = path.join(tmp, `file-${what}`, 'main');
      untar(archive, restored);
      await change(restored);
      assert.match((await whyChangedSinceMade(restored, (await readManifest(restored))!)) ?? '', reason, what);
    }
  });

  it('lists an environment put back with tar and used as an environment again, not a backup', async () => {
    const root = path.join(tmp, 'workspace');
    untar(archive, path.join(root, 'untouched'));
    untar(archive, path.join(root, 'in-use'));
    await tracWorksIn(path.join(root, 'in-use'));
    const found = await discoverEnvironments({ roots: [root], depth: 1, environments: [], parents: [root] });
    assert.deepEqual(found.map((entry) => path.basename(entry.path)).sort(), ['in-use']);
  });
});
