import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exportArchive } from '../../../src/core/archive/exportArchive';
import { withExtractedArchive } from '../../../src/core/archive/extractArchive';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { sweepUnpackFolders } from '../../../src/core/archive/unpackFolder';
import { parseWorkName } from '../../../src/core/work/workFolder';
import { startNode } from '../../support/childProcess';
import { runCliCaptured } from '../../support/cliRun';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';

const CHILD = path.join(__dirname, '..', '..', 'support', 'unpackChild.js');

/** Starts a child that unpacks the archive into `parent` and waits there; returns it with the folder it unpacked into. */
async function unpackInChild(archive: string, parent: string) {
  const started = startNode([CHILD, archive, parent]);
  const line = await started.waitForLine((text) => text.startsWith('unpacked '));
  const root = line.slice('unpacked '.length);
  const folder = path.join(parent, path.relative(parent, root).split(path.sep)[0]);
  assert.equal(parseWorkName(path.basename(folder))?.purpose, 'unpack', `not an unpack folder: ${folder}`);
  return { started, folder };
}

describe('unpack folders left by a process that was killed', () => {
  let tmp: string;
  let archive: string;
  before(async () => {
    tmp = await makeTempDir();
    const env = await copyFixture('trac-1.6-fresh', 'env', tmp);
    const backup = (await hotcopy(env, path.join(tmp, 'backups', 'env-1'))).dest;
    archive = (await exportArchive(backup, path.join(tmp, 'env-1.tar.gz'))).archive;
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it('are removed by the next unpack in the same folder, and reported; a running unpack keeps its own', async () => {
    const parent = path.join(tmp, 'sweep');
    await fs.mkdir(parent);
    // Started first: an unpack sweeps what is there when it starts.
    const running = await unpackInChild(archive, parent);
    const killed = await unpackInChild(archive, parent);
    killed.started.child.kill('SIGKILL');
    await killed.started.exited;
    try {
      assert.ok(await fs.stat(path.join(killed.folder, 'env-1', 'VERSION')), 'the killed child left no unpacked copy to sweep');
      await fs.mkdir(path.join(parent, '.not-ours.unpack-notanumber'));

      const swept: string[] = [];
      const seenInside = await withExtractedArchive(archive, async () => fs.readdir(parent), {
        tempParent: parent,
        onSwept: (folder) => swept.push(folder),
      });
      assert.deepEqual(swept, [killed.folder]);
      assert.ok(!seenInside.includes(path.basename(killed.folder)), 'the killed child’s folder was still there');
      assert.ok(seenInside.includes(path.basename(running.folder)), 'the running child’s folder was swept');
      assert.deepEqual(
        (await fs.readdir(parent)).sort(),
        ['.not-ours.unpack-notanumber', path.basename(running.folder)].sort(),
        'the unpack left its own folder, or swept what is not an unpack folder',
      );
    } finally {
      running.started.child.kill('SIGKILL');
      await running.started.exited;
    }
    assert.deepEqual(await sweepUnpackFolders(parent), [running.folder], 'once its process is gone, its folder goes too');
  });

  it('trac-backup restore <file.tar.gz> clears them beside the environment and says so', async () => {
    const parent = path.join(tmp, 'cli');
    await fs.mkdir(parent);
    const killed = await unpackInChild(archive, parent);
    killed.started.child.kill('SIGKILL');
    await killed.started.exited;

    const { code, stderr } = await runCliCaptured(['restore', archive, path.join(parent, 'restored'), '--json']);
    assert.equal(code, 0, stderr);
    assert.match(stderr, new RegExp(`removed ${killed.folder.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.deepEqual(await fs.readdir(parent), ['restored']);
  });
});
