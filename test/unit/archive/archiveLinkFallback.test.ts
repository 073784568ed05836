import * as assert from 'node:assert/strict';
import { type PathLike, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, afterEach, before, describe, it, mock } from 'node:test';
import { exportArchive } from '../../../src/core/archive/exportArchive';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';

describe('an archive is published where hard links fail', () => {
  let tmp: string;
  let backup: string;
  before(async () => {
    tmp = await makeTempDir();
    const env = await copyFixture('trac-1.6-fresh', 'env', tmp);
    backup = (await hotcopy(env, path.join(tmp, 'backups', 'b1'))).dest;
  });
  afterEach(() => mock.restoreAll());
  after(async () => {
    await removeTempDir(tmp);
  });

  // exFAT and FAT32 (USB disks on Windows): libuv's link() fails with EISDIR there.
  for (const code of ['EISDIR', 'EPERM', 'ENOTSUP']) {
    it(`on ${code} from link(), by a rename after checking the name is free`, async () => {
      let refused = 0;
      mock.method(fs, 'link', (existing: PathLike, target: PathLike) => {
        refused++;
        return Promise.reject(Object.assign(new Error(`${code}: simulated, link '${String(existing)}' -> '${String(target)}'`), { code }));
      });
      const archive = path.join(tmp, `out-${code}`, `b1-${code}.tar.gz`);
      const result = await exportArchive(backup, archive);
      assert.equal(refused, 1);
      assert.equal(result.archive ?? archive, archive);
      assert.ok((await fs.stat(archive)).size > 0);
      assert.deepEqual((await fs.readdir(path.dirname(archive))).sort(), [`b1-${code}.tar.gz`], 'no temporary file left');
    });
  }
});
