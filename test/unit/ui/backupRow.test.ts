// The words beside a backup row's date, from backups the catalog really lists: a hotcopy, and the
// environment a real restore kept aside. At code-server's default sidebar width the date leaves
// room for about 10 characters (the e2e tests check the rendered rows).
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { listBackups } from '../../../src/core/catalog/backupCatalog';
import { defaultBackupFolder, keptBeforeRestorePrefix } from '../../../src/core/catalog/backupNames';
import { restore } from '../../../src/core/restore/restore';
import { formatBytes } from '../../../src/core/shared/format';
import { backupRowAccessibleLabel, backupRowDescription } from '../../../src/ui/backupRow';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';

const ROOM = 10;

describe('the description of a backup row', () => {
  let tmp: string;
  before(async () => {
    tmp = await makeTempDir();
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it('a backup: its size; the copy a restore kept aside: "kept", said in full to a screen reader', async () => {
    const env = await copyFixture('trac-1.6-populated', 'env', tmp);
    const backupPath = (await hotcopy(env, path.join(defaultBackupFolder(env), 'env-20261201-101500'))).dest;
    await restore(backupPath, env, { replace: true });
    const [backup] = await listBackups(defaultBackupFolder(env));
    const [kept, ...others] = await listBackups(path.dirname(env), (name) => name.startsWith(keptBeforeRestorePrefix(env)));
    assert.ok(backup && kept, 'the catalog lists no backup or no kept copy');
    assert.deepEqual(others, []);

    assert.equal(backupRowDescription(backup), formatBytes(backup.bytes));
    assert.equal(backupRowDescription(kept), 'kept');
    for (const row of [backup, kept]) {
      assert.ok(backupRowDescription(row).length <= ROOM, `too long for the default width: "${backupRowDescription(row)}"`);
    }
    assert.equal(
      backupRowAccessibleLabel(kept, '2026-12-01 10:20:00', 'never verified'),
      `2026-12-01 10:20:00, kept before restore, ${formatBytes(kept.bytes)}, never verified`,
    );
    assert.equal(
      backupRowAccessibleLabel(backup, '2026-12-01 10:15:00', 'verified'),
      `2026-12-01 10:15:00, ${formatBytes(backup.bytes)}, verified`,
    );
  });
});
