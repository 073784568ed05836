import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TreeEntry, removeTree, walkTree, walkTreeSync } from '../../../src/core/fs/fileTree';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';

describe('file tree', () => {
  let tmp: string;
  before(async () => {
    tmp = await makeTempDir();
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it('walks the same with synchronous calls, from the root or from a folder below it', async () => {
    const env = await copyFixture('trac-1.6-populated', 'env', tmp);
    await fs.symlink('conf', path.join(env, 'link'));
    // Reading a folder may change its atime: compare the rest.
    const summary = (entries: TreeEntry[]) =>
      entries.map((entry) => `${entry.relative} ${entry.kind} ${entry.size} ${entry.mode} ${entry.mtimeMs} ${entry.ino}`);
    const all = await walkTree(env);
    assert.deepEqual(summary(walkTreeSync(env)), summary(all));
    assert.deepEqual(
      summary(walkTreeSync(env, 'files/attachments')),
      summary(all.filter((entry) => entry.relative === 'files/attachments' || entry.relative.startsWith('files/attachments/'))),
    );
    assert.deepEqual(walkTreeSync(env, 'no/such/folder'), []);
    assert.equal(all.find((entry) => entry.relative === 'link')?.kind, 'symlink');
    assert.ok(!all.some((entry) => entry.relative.startsWith('link/')), 'links are not followed');
  });

  it('removes a tree with read-only folders in it', async () => {
    const root = path.join(tmp, 'read-only');
    await fs.mkdir(path.join(root, 'a', 'b'), { recursive: true });
    await fs.writeFile(path.join(root, 'a', 'b', 'file'), 'x');
    await fs.chmod(path.join(root, 'a', 'b'), 0o555);
    await fs.chmod(path.join(root, 'a'), 0o555);
    await removeTree(root);
    await assert.rejects(fs.access(root), { code: 'ENOENT' });
    await removeTree(root);
  });
});
