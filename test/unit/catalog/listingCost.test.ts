// What a refresh of the Environments view costs: listing reads only the head of each backup's
// metadata, and disk use walks only the backups it has not seen (a backup never changes once made).
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { listBackups } from '../../../src/core/catalog/backupCatalog';
import { DiskUsageCache, backupsDiskUsage } from '../../../src/core/catalog/diskUsage';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { MANIFEST_FILE, manifestPath, readManifest, readManifestHead } from '../../../src/core/catalog/manifest';
import { pruneBackups } from '../../../src/core/catalog/prune';
import { makeBackupChain } from '../../support/backupChain';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';

const local = (day: number) => new Date(2024, 0, day, 12);

describe('the cost of listing backups', () => {
  let tmp: string;
  let env: string;
  before(async () => {
    tmp = await makeTempDir();
    env = await copyFixture('trac-1.6-populated', 'env', tmp);
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it('reads the head of the metadata as the whole file says it, and falls back to the whole file', async () => {
    const { dest } = await hotcopy(env, path.join(tmp, 'head', 'env-1'));
    const { entries, ...expected } = (await readManifest(dest))!;
    assert.ok(entries.length > 40);
    assert.deepEqual(await readManifestHead(dest), expected);

    // Written otherwise (one line, as another writer might): the whole file is read.
    const oneLine = path.join(tmp, 'head', 'one-line');
    await fs.cp(dest, oneLine, { recursive: true });
    await fs.chmod(manifestPath(oneLine), 0o644);
    await fs.writeFile(manifestPath(oneLine), JSON.stringify({ ...expected, entries }));
    assert.deepEqual(await readManifestHead(oneLine), expected);

    // Cut short (a full disk, a copy stopped): not a manifest, as before.
    const cut = path.join(tmp, 'head', 'cut');
    await fs.cp(dest, cut, { recursive: true });
    const text = await fs.readFile(manifestPath(dest), 'utf8');
    await fs.chmod(manifestPath(cut), 0o644);
    await fs.writeFile(manifestPath(cut), text.slice(0, Math.floor(text.length * 0.7)));
    await assert.rejects(readManifestHead(cut), { code: 'MANIFEST_INVALID' });
    assert.equal(await readManifestHead(path.join(tmp, 'head', 'none')), undefined);
  });

  it('lists a backup without reading its entries; prune still leaves one whose entries cannot be read alone', async () => {
    const folder = path.join(tmp, 'entries');
    const { dest } = await hotcopy(env, path.join(folder, 'env-1'));
    const text = await fs.readFile(manifestPath(dest), 'utf8');
    // Between two entries halfway down: no longer JSON.
    const entries = text.indexOf('"entries"');
    const between = text.indexOf(',\n', entries + Math.floor((text.length - entries) / 2)) + 1;
    await fs.chmod(manifestPath(dest), 0o644);
    await fs.writeFile(manifestPath(dest), `${text.slice(0, between)} #damaged#${text.slice(between)}`);
    await assert.rejects(readManifest(dest), { code: 'MANIFEST_INVALID' });

    const [listed] = await listBackups(folder);
    assert.equal(listed.problem, undefined, 'the listing parsed the entries');
    assert.equal(listed.projectName, 'Populated Project');

    const second = await hotcopy(env, path.join(folder, 'env-2'));
    const plan = await pruneBackups(folder, { keepLast: 1 }, { dryRun: true });
    assert.deepEqual(plan.remove, [], 'a backup whose metadata cannot be read would be pruned');
    const kept = plan.keep.find(({ backup }) => backup.path === dest);
    assert.match(kept?.reasons.join(' ') ?? '', /metadata cannot be read/);
    assert.ok(plan.keep.some(({ backup }) => backup.path === second.dest));
  });

  it('walks each backup once for its disk use, whatever the number of refreshes, and again only when it is a new one', async () => {
    const area = path.join(tmp, 'usage');
    const source = await copyFixture('trac-1.6-populated', 'env', area);
    const folder = path.join(area, 'backups');
    const chain = await makeBackupChain(source, folder, [local(1), local(2), local(3)]);
    const cache = new DiskUsageCache();

    const first = await cache.usage(await listBackups(folder));
    assert.equal(cache.walked, 3);
    const walkedFresh = await backupsDiskUsage((await listBackups(folder)).map((backup) => backup.path));
    assert.equal(first.totalBytes, walkedFresh.totalBytes);
    assert.equal(first.totalFiles, walkedFresh.totalFiles);
    assert.deepEqual(
      first.backups.map((backup) => backup.uniqueBytes),
      walkedFresh.backups.map((backup) => backup.uniqueBytes),
    );

    for (let refresh = 0; refresh < 3; refresh++) {
      const again = await cache.usage(await listBackups(folder));
      assert.equal(again.totalBytes, first.totalBytes);
    }
    assert.equal(cache.walked, 3, 'a refresh walked backups it had already measured');
    assert.equal(cache.peek(await listBackups(folder))?.totalBytes, first.totalBytes, 'the figure is not at hand for the same backups');

    // A new backup: only it is walked, and it is unknown until then.
    const [fourth] = await makeBackupChain(source, path.join(area, 'next'), [local(4)]);
    const moved = path.join(folder, path.basename(fourth));
    await fs.rename(fourth, moved);
    assert.equal(cache.peek(await listBackups(folder)), undefined);
    const withFourth = await cache.usage(await listBackups(folder));
    assert.equal(cache.walked, 4);
    assert.equal(withFourth.totalBytes, (await backupsDiskUsage([...chain, moved])).totalBytes);

    // Deleted and made again under the same name: another backup, walked again; a deleted one counts no more.
    await fs.rm(chain[0], { recursive: true, force: true });
    await fs.rm(moved, { recursive: true, force: true });
    const { dest } = await hotcopy(source, moved);
    assert.equal(dest, moved);
    const now = await cache.usage(await listBackups(folder));
    assert.equal(cache.walked, 5);
    assert.equal(now.totalBytes, (await backupsDiskUsage([chain[1], chain[2], moved])).totalBytes);
    assert.ok(now.backups.every((backup) => backup.path !== chain[0]));
    assert.ok((await fs.stat(path.join(moved, MANIFEST_FILE))).size > 0);
  });
});
