import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { newestBackupFor } from '../../../src/core/catalog/backupCatalog';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { readManifest, writeManifest } from '../../../src/core/catalog/manifest';
import { pruneBackups } from '../../../src/core/catalog/prune';
import { redate } from '../../support/backupChain';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';

const OTHER_HOST = 'trac-mirror.elsewhere.example';
const local = (day: number) => new Date(2024, 0, day, 12);

/** Makes a backup's metadata say another machine made it (the same path, its own /srv/trac/main). */
async function madeOn(backup: string, host: string | undefined): Promise<void> {
  const manifest = (await readManifest(backup))!;
  const source = { ...manifest.source, host: host as string };
  if (host === undefined) {
    delete (source as Partial<typeof source>).host;
  }
  await writeManifest(backup, { ...manifest, source });
}

describe('backups of two machines in one shared folder', () => {
  let tmp: string;
  let env: string;
  let folder: string;
  const name = (day: number, who: string) => `main-${who}-2024010${day}`;
  before(async () => {
    tmp = await makeTempDir();
    env = await copyFixture('trac-1.6-populated', 'main', tmp);
    folder = path.join(tmp, 'shared-backups');
    // This machine: days 1 and 2; the other machine (same environment path): days 3 and 4, the newest.
    for (const [day, who] of [
      [1, 'here'],
      [2, 'here'],
      [3, 'there'],
      [4, 'there'],
    ] as const) {
      const { dest } = await hotcopy(env, path.join(folder, name(day, who)));
      await redate(dest, local(day));
      if (who === 'there') {
        await madeOn(dest, OTHER_HOST);
      }
    }
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it("prunes each machine's backups on their own: --keep-last 1 keeps the newest of each", async () => {
    const plan = await pruneBackups(folder, { keepLast: 1 }, { dryRun: true });
    assert.deepEqual(
      plan.keep.map(({ backup }) => backup.name),
      [name(4, 'there'), name(2, 'here')],
    );
    assert.deepEqual(
      plan.remove.map(({ backup }) => backup.name),
      [name(3, 'there'), name(1, 'here')],
    );
  });

  it("with --environment, counts and deletes only this machine's backups of it", async () => {
    const plan = await pruneBackups(folder, { keepLast: 1 }, { dryRun: true, environment: env });
    assert.deepEqual(
      plan.keep.map(({ backup }) => backup.name),
      [name(2, 'here')],
    );
    assert.deepEqual(
      plan.remove.map(({ backup }) => backup.name),
      [name(1, 'here')],
    );
  });

  it("counts metadata without a host (older backups) as this machine's", async () => {
    const older = path.join(folder, name(1, 'here'));
    await madeOn(older, undefined);
    try {
      const plan = await pruneBackups(folder, { keepLast: 1 }, { dryRun: true, environment: env });
      assert.deepEqual(
        plan.remove.map(({ backup }) => backup.name),
        [name(1, 'here')],
      );
    } finally {
      await madeOn(older, (await readManifest(path.join(folder, name(2, 'here'))))!.source.host);
    }
  });

  it("never links an incremental backup to the other machine's backup", async () => {
    assert.equal((await newestBackupFor(folder, env))?.name, name(2, 'here'));
    const theirs = path.join(folder, name(4, 'there'));
    await assert.rejects(hotcopy(env, path.join(tmp, 'linked'), { linkDest: theirs }), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'INVALID_ARGUMENT');
      assert.ok(error.message.includes(theirs), error.message);
      assert.ok(error.message.includes(OTHER_HOST), error.message);
      return true;
    });
  });
});
