import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { environmentChangedSince } from '../../../src/core/backup/changedSinceBackup';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { MANIFEST_FILE, readManifest, writeManifest } from '../../../src/core/catalog/manifest';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';
import { openTracDatabase } from '../../support/database';

describe('environmentChangedSince', () => {
  let tmp: string;
  let counter = 0;
  before(async () => {
    tmp = await makeTempDir();
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  /** A fixture copy (its files, the database too, dated long ago) and a backup of it. */
  async function backedUp(configure?: (env: string) => void | Promise<void>) {
    const area = path.join(tmp, `case-${++counter}`);
    const env = await copyFixture('trac-1.6-populated', 'env', area);
    await configure?.(env);
    const backup = (await hotcopy(env, path.join(area, 'backup'))).dest;
    return { env, backup };
  }

  it('says unchanged right after a backup', async () => {
    const { env, backup } = await backedUp();
    assert.deepEqual(await environmentChangedSince(env, backup), { changed: false });
  });

  it('sees a new ticket in the database', async () => {
    const { env, backup } = await backedUp();
    const db = openTracDatabase(path.join(env, 'db', 'trac.db'));
    db.prepare("INSERT INTO ticket (summary, status, time, changetime) VALUES ('new', 'new', 0, 0)").run();
    db.close();
    const check = await environmentChangedSince(env, backup);
    assert.equal(check.changed, true);
    assert.match(check.reason ?? '', /the database .*trac\.db changed/);
  });

  it('sees a commit that stays in the -wal file of a WAL database', async () => {
    const { env, backup } = await backedUp(async (dir) => {
      const ini = path.join(dir, 'conf', 'trac.ini');
      await fs.writeFile(ini, (await fs.readFile(ini, 'utf8')).replace('sqlite:db/trac.db', 'sqlite:db/trac.db?journal_mode=WAL'));
      await fs.utimes(ini, new Date(2020, 0, 1), new Date(2020, 0, 1));
      const db = openTracDatabase(path.join(dir, 'db', 'trac.db'));
      db.pragma('journal_mode = WAL');
      db.close();
      const old = new Date(2020, 0, 1);
      await fs.utimes(path.join(dir, 'db', 'trac.db'), old, old);
    });
    assert.deepEqual(await environmentChangedSince(env, backup), { changed: false }, 'unchanged, WAL or not');
    const live = openTracDatabase(path.join(env, 'db', 'trac.db'));
    try {
      live.pragma('wal_autocheckpoint = 0');
      live.prepare("INSERT INTO ticket (summary, status, time, changetime) VALUES ('in the WAL', 'new', 0, 0)").run();
      assert.match((await environmentChangedSince(env, backup)).reason ?? '', /the database/);
    } finally {
      live.close();
    }
  });

  it('sees files added, modified, removed or made executable', async () => {
    const cases: Array<[string, (env: string) => Promise<unknown>, RegExp]> = [
      ['a new file', (env) => fs.writeFile(path.join(env, 'htdocs', 'logo.png'), 'png'), /htdocs\/logo\.png is new/],
      ['an edited trac.ini', (env) => fs.appendFile(path.join(env, 'conf', 'trac.ini'), '\n[x]\ny = 1\n'), /conf\/trac\.ini was modified/],
      ['a removed README', (env) => fs.rm(path.join(env, 'README')), /README was removed/],
      ['a mode change', (env) => fs.chmod(path.join(env, 'VERSION'), 0o755), /VERSION changed mode to 755/],
    ];
    for (const [name, change, reason] of cases) {
      const { env, backup } = await backedUp();
      await change(env);
      const check = await environmentChangedSince(env, backup);
      assert.equal(check.changed, true, name);
      assert.match(check.reason ?? '', reason, name);
    }
  });

  it('counts a database written just before the backup as changed (its time may hide a later write)', async () => {
    const { env, backup } = await backedUp((dir) => {
      const db = openTracDatabase(path.join(dir, 'db', 'trac.db'));
      db.prepare("INSERT INTO ticket (summary, status, time, changetime) VALUES ('just now', 'new', 0, 0)").run();
      db.close();
    });
    assert.equal((await environmentChangedSince(env, backup)).changed, true);
  });

  it('counts a backup without the record (older, or no metadata) as changed', async () => {
    const { env, backup } = await backedUp();
    const manifest = (await readManifest(backup))!;
    delete manifest.sourceState;
    await writeManifest(backup, manifest);
    assert.match((await environmentChangedSince(env, backup)).reason ?? '', /does not record the state of the database/);
    await fs.rm(path.join(backup, MANIFEST_FILE));
    assert.match((await environmentChangedSince(env, backup)).reason ?? '', /no readable trac-backup metadata/);
  });

  it('compares an external database and the rewritten trac.ini with the source', async () => {
    const { env, backup } = await backedUp(async (dir) => {
      const outside = path.join(path.dirname(dir), 'elsewhere', 'project.db');
      await fs.mkdir(path.dirname(outside));
      await fs.rename(path.join(dir, 'db', 'trac.db'), outside);
      const ini = path.join(dir, 'conf', 'trac.ini');
      await fs.writeFile(ini, (await fs.readFile(ini, 'utf8')).replace('database = sqlite:db/trac.db', `database = sqlite:${outside}`));
      await fs.utimes(ini, new Date(2020, 0, 1), new Date(2020, 0, 1));
    });
    assert.deepEqual(await environmentChangedSince(env, backup), { changed: false });
  });
});
