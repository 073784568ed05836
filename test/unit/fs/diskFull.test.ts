import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { MANIFEST_FILE } from '../../../src/core/catalog/manifest';
import { errorLine, runCliCaptured } from '../../support/cliRun';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';
import { PAGE_BYTES, diskSpace, mountTmpfs, resizeTmpfs, unmountTmpfs, writeFiller } from '../../support/tmpfs';
import { fingerprintTree } from '../../support/treeCompare';

const MB = 1024 * 1024;
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const pages = (bytes: number) => Math.ceil(bytes / PAGE_BYTES) * PAGE_BYTES;

describe('a disk that fills up while writing what comes after the copy', () => {
  let tmp: string;
  let disk: string;
  before(async () => {
    tmp = await makeTempDir();
  });
  beforeEach(async () => {
    disk = await mountTmpfs(path.join(tmp, 'disk'), 64 * MB);
  });
  afterEach(() => {
    unmountTmpfs(disk);
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it('hotcopy: the metadata does not fit; the disk is named, the partial backup and the folders made for it are removed', async () => {
    // Many empty files: a large metadata file (a line each) for data that takes no space at all.
    const env = await copyFixture('trac-1.6-fresh', 'env-many', tmp);
    const many = path.join(env, 'htdocs', 'many');
    await fs.mkdir(many);
    for (let index = 0; index < 6000; index++) {
      await fs.writeFile(path.join(many, `empty-${index}.txt`), '');
    }
    const probe = (await hotcopy(env, path.join(disk, 'probe'))).dest;
    const used = (await diskSpace(disk)).used;
    const manifestBytes = (await fs.stat(path.join(probe, MANIFEST_FILE))).size;
    assert.ok(manifestBytes > 16 * PAGE_BYTES, `the metadata is only ${manifestBytes} bytes`);
    await fs.rm(probe, { recursive: true });
    // Room for everything but the second half of the metadata.
    resizeTmpfs(disk, used - pages(manifestBytes) + pages(manifestBytes / 2));
    const sourceBefore = await fingerprintTree(env);

    const dest = path.join(disk, 'new', 'deep', 'backup');
    const { code, stderr } = await runCliCaptured(['hotcopy', env, dest]);
    assert.equal(code, 1, stderr);
    const line = errorLine(stderr);
    assert.match(line, new RegExp(`The disk holding ${escape(dest)} is full: the partial backup was removed`));
    assert.doesNotMatch(line, /unexpected/);
    assert.deepEqual(await fs.readdir(disk), [], 'the partial backup or the folders made for it are left');
    assert.deepEqual(await fingerprintTree(env), sourceBefore);
  });

  it('archive: says "archive", removes the partial archive and the folders made for it', async () => {
    const env = await copyFixture('trac-1.6-populated', 'env-archive', tmp);
    const backup = (await hotcopy(env, path.join(tmp, 'backups', 'b1'))).dest;
    const filler = path.join(disk, 'filler');
    await writeFiller(filler, (await diskSpace(disk)).free - 16 * PAGE_BYTES);

    const archive = path.join(disk, 'new', 'deep', 'b1.tar.gz');
    const { code, stderr } = await runCliCaptured(['archive', backup, archive]);
    assert.equal(code, 1, stderr);
    const line = errorLine(stderr);
    assert.match(line, new RegExp(`The disk holding ${escape(archive)} is full: the partial archive was removed`));
    assert.deepEqual(await fs.readdir(disk), ['filler'], 'the partial archive or the folders made for it are left');
  });

  it('restore: the journal does not fit; the disk is named and nothing is left beside the environment', async () => {
    const env = await copyFixture('trac-1.6-populated', 'env-restore', tmp);
    const backup = (await hotcopy(env, path.join(tmp, 'backups', 'for-restore'))).dest;
    const target = path.join(disk, 'restored');
    const empty = (await diskSpace(disk)).used;
    const probe = await runCliCaptured(['restore', backup, target]);
    assert.equal(probe.code, 0, probe.stderr);
    const copyBytes = (await diskSpace(disk)).used - empty;
    await fs.rm(target, { recursive: true });
    // Room for the copy of the backup, and not one page more: the journal, written next, does not fit.
    await writeFiller(path.join(disk, 'filler'), (await diskSpace(disk)).free - copyBytes);

    const { code, stderr } = await runCliCaptured(['restore', backup, target]);
    assert.equal(code, 1, stderr);
    const line = errorLine(stderr);
    assert.match(line, new RegExp(`${escape(target)}.*disk is full`));
    assert.doesNotMatch(line, /unexpected/);
    assert.deepEqual(await fs.readdir(disk), ['filler'], 'the journal, its temporary file or the copy are left');
  });
});
