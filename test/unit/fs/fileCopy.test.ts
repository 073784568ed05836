import * as assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { copyFileHashed } from '../../../src/core/fs/fileCopy';
import { CloneAttempts } from '../../../src/core/fs/cloneFile';
import { makeTempDir, removeTempDir } from '../../support/fixtures';
import { mountTmpfs, unmountTmpfs } from '../../support/tmpfs';

const MB = 1024 * 1024;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/**
 * A process that rewrites `file` in place over and over, alternately with bytes of 0x41 and 0x42,
 * always of the same size, and puts its mtime back after every write: a change that only the
 * file's ctime (and its content) shows.
 */
function startRewriter(file: string): ChildProcess {
  const script = `
import os, sys
path = sys.argv[1]
st = os.stat(path)
size, mtime = st.st_size, st.st_mtime_ns
chunks = [bytes([0x41]) * (1024 * 1024), bytes([0x42]) * (1024 * 1024)]
fd = os.open(path, os.O_WRONLY)
n = 0
print('ready', flush=True)
while True:
    chunk = chunks[n % 2]
    for offset in range(0, size, len(chunk)):
        os.pwrite(fd, chunk[: size - offset], offset)
    os.utime(path, ns=(mtime, mtime))
    n += 1
`;
  return spawn('/usr/bin/python3', ['-c', script, file], { stdio: ['ignore', 'pipe', 'inherit'] });
}

async function untilReady(child: ChildProcess): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`the rewriter exited (${code})`)));
  });
}

describe('copyFileHashed', () => {
  let tmp: string;
  before(async () => {
    tmp = await makeTempDir();
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it('gives the SHA-256 of the copy, the source mode through storedMode, and the source times', async () => {
    for (const size of [0, 1000, 300 * 1024, 3 * MB]) {
      const source = path.join(tmp, `plain-${size}.bin`);
      const content = Buffer.alloc(size, size % 251);
      await fs.writeFile(source, content);
      await fs.chmod(source, 0o640);
      await fs.utimes(source, new Date('2021-03-04T05:06:07.250Z'), new Date('2021-03-04T05:06:07.250Z'));
      const target = path.join(tmp, `plain-${size}.copy`);
      const copied = await copyFileHashed(source, target, { destination: tmp, sizeHint: size, storedMode: (mode) => mode & ~0o222 });
      assert.ok(copied);
      assert.equal(copied.sha256, sha256(content));
      assert.equal(copied.bytes, size);
      assert.equal(copied.changed, undefined);
      assert.deepEqual(await fs.readFile(target), content);
      const stats = await fs.stat(target);
      assert.equal(stats.mode & 0o7777, 0o440);
      assert.equal(stats.mtime.toISOString(), '2021-03-04T05:06:07.250Z');
    }
  });

  it('returns undefined for a source that vanished, and for one that is now a link (never followed)', async () => {
    assert.equal(await copyFileHashed(path.join(tmp, 'gone'), path.join(tmp, 'gone.copy'), { destination: tmp, sizeHint: 10 }), undefined);
    await fs.writeFile(path.join(tmp, 'secret'), 'not for the backup');
    await fs.symlink(path.join(tmp, 'secret'), path.join(tmp, 'now-a-link'));
    assert.equal(
      await copyFileHashed(path.join(tmp, 'now-a-link'), path.join(tmp, 'link.copy'), { destination: tmp, sizeHint: 10 }),
      undefined,
    );
    await assert.rejects(fs.lstat(path.join(tmp, 'link.copy')), { code: 'ENOENT' });
  });

  it('says changed (or recent) when the source is rewritten during its copy, its size and mtime put back; any other copy is one whole version', async () => {
    for (const [size, label] of [
      [16 * MB, 'large'],
      [200 * 1024, 'small'],
    ] as const) {
      const source = path.join(tmp, `rewritten-${label}.bin`);
      await fs.writeFile(source, Buffer.alloc(size, 0x41));
      const versions = new Set([sha256(Buffer.alloc(size, 0x41)), sha256(Buffer.alloc(size, 0x42))]);
      const rewriter = startRewriter(source);
      try {
        await untilReady(rewriter);
        let changed = 0;
        for (let attempt = 0; attempt < 8; attempt++) {
          const target = path.join(tmp, `rewritten-${label}-${attempt}.copy`);
          const copied = await copyFileHashed(source, target, { destination: tmp, sizeHint: size });
          assert.ok(copied);
          assert.equal(copied.sha256, sha256(await fs.readFile(target)), 'the checksum is not of the bytes copied');
          if (copied.changed || copied.recent) {
            changed += 1;
          } else {
            assert.ok(versions.has(copied.sha256), `copy ${attempt} (${label}) mixes two versions and was not said to have changed`);
          }
          await fs.rm(target);
        }
        assert.ok(changed > 0, `none of 8 copies of the ${label} file rewritten all along was said to have changed`);
      } finally {
        rewriter.kill('SIGKILL');
      }
    }
  });

  it('on a file system without clones (tmpfs) copies, silently, and stops trying clones from that disk', async () => {
    const disk = await mountTmpfs(path.join(tmp, 'tmpfs'), 16 * MB);
    try {
      const clones = new CloneAttempts();
      for (let index = 0; index < 3; index++) {
        const source = path.join(disk, `file-${index}`);
        await fs.writeFile(source, `content ${index}`);
        const copied = await copyFileHashed(source, path.join(disk, `file-${index}.copy`), { destination: disk, sizeHint: 9, clones });
        assert.equal(copied?.cloned, false);
        assert.equal(await fs.readFile(path.join(disk, `file-${index}.copy`), 'utf8'), `content ${index}`);
      }
      assert.deepEqual({ cloned: clones.cloned, copied: clones.copied }, { cloned: 0, copied: 3 });
    } finally {
      unmountTmpfs(disk);
    }
  });
});
