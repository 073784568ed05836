import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { readManifest } from '../../../src/core/catalog/manifest';
import { walkTree } from '../../../src/core/fs/fileTree';
import { recordedMode } from '../../../src/core/fs/modes';
import { setFsRetrySeam } from '../../../src/core/fs/retry';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';

const folder = (mode: number) => ({ mode: 0o40000 | mode, isDirectory: () => true });
const file = (mode: number) => ({ mode: 0o100000 | mode, isDirectory: () => false });

describe('modes recorded on Windows', () => {
  let tmp: string;
  before(async () => {
    tmp = await makeTempDir();
  });
  afterEach(() => setFsRetrySeam(undefined));
  after(async () => {
    await removeTempDir(tmp);
  });

  it('are the POSIX defaults (Windows reports 0666 folders and 0666 or 0444 files); elsewhere what the file has', () => {
    assert.equal(recordedMode(folder(0o666), 'win32'), 0o755);
    assert.equal(recordedMode(file(0o666), 'win32'), 0o644);
    assert.equal(recordedMode(file(0o444), 'win32'), 0o444);
    assert.equal(recordedMode(folder(0o750), 'linux'), 0o750);
    assert.equal(recordedMode(file(0o4755), 'darwin'), 0o4755);
  });

  it(
    'so a backup made there restores with traversable folders and files only their owner writes',
    { skip: process.getuid?.() !== 0 && 'folders of mode 0666 can be walked by root only' },
    async () => {
      const env = await copyFixture('trac-1.6-fresh', 'env', tmp);
      // The environment as Node on Windows reports it.
      for (const entry of await walkTree(env)) {
        await fs.chmod(entry.absolute, 0o666);
      }
      setFsRetrySeam({ platform: 'win32' });
      const { dest } = await hotcopy(env, path.join(tmp, 'backups', 'b1'));
      const manifest = await readManifest(dest);
      const modes = new Set(manifest!.entries.map((entry) => `${entry.type} ${'mode' in entry ? entry.mode.toString(8) : ''}`));
      assert.deepEqual([...modes].sort(), ['directory 755', 'file 644']);
    },
  );
});
