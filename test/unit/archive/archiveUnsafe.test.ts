import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ArchiveLimits } from '../../../src/core/archive/archiveLimits';
import { withExtractedArchive } from '../../../src/core/archive/extractArchive';
import { TracBackupError } from '../../../src/core/shared/errors';
import { CraftedEntry, writeTarGz, writeZeroBomb } from '../../support/craftTar';
import { makeTempDir, removeTempDir } from '../../support/fixtures';
import { fingerprintTree } from '../../support/treeCompare';

const MIB = 1024 * 1024;

/** A minimal environment's entries, so that only the malicious part can be the reason to refuse. */
const ENVIRONMENT: CraftedEntry[] = [
  { path: './', type: 'Directory' },
  { path: './VERSION', content: 'Trac Environment Version 1\n' },
  { path: './conf/', type: 'Directory' },
  { path: './conf/trac.ini', content: '[trac]\ndatabase = sqlite:db/trac.db\n' },
];

/**
 * Each case extracts into `<case>/temp` beside `<case>/canary`: the extraction folder is
 * `<case>/temp/.<name>.tmp-<hex>/<name>`, so `../../../canary` from it is the canary.
 */
describe('untrusted archives', () => {
  let tmp: string;
  let caseNumber = 0;
  before(async () => {
    tmp = await makeTempDir();
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  async function newCase(): Promise<{ dir: string; canary: string; temp: string }> {
    const dir = path.join(tmp, `case-${++caseNumber}`);
    const canary = path.join(dir, 'canary');
    const temp = path.join(dir, 'temp');
    await fs.mkdir(canary, { recursive: true });
    await fs.mkdir(temp);
    await fs.writeFile(path.join(canary, 'keep.txt'), 'untouched');
    return { dir, canary, temp };
  }

  async function expectRefused(
    archive: string,
    where: { canary: string; temp: string },
    message: RegExp,
    options: { limits?: Partial<ArchiveLimits>; code?: string } = {},
  ): Promise<TracBackupError> {
    const before = await fingerprintTree(path.dirname(where.canary));
    let called = false;
    let refusal: TracBackupError | undefined;
    await assert.rejects(
      withExtractedArchive(archive, () => Promise.resolve((called = true)), { tempParent: where.temp, limits: options.limits }),
      (error: TracBackupError) => {
        refusal = error;
        assert.equal(error.code, options.code ?? 'ARCHIVE_UNSAFE', error.message);
        assert.ok(error.message.includes(archive), 'the message names the archive');
        assert.match(error.message, message);
        return true;
      },
    );
    assert.equal(called, false, 'nothing is handed over');
    assert.deepEqual(await fs.readdir(where.temp), [], 'the extraction folder is removed');
    assert.deepEqual(await fingerprintTree(path.dirname(where.canary)), before, 'nothing changed beside it');
    assert.equal((await fs.stat(path.join(where.canary, 'keep.txt'))).nlink, 1);
    return refusal as TracBackupError;
  }

  async function craft(entries: CraftedEntry[]): Promise<string> {
    return writeTarGz(path.join(tmp, `crafted-${caseNumber}.tar.gz`), [...ENVIRONMENT, ...entries]);
  }

  it('extracts the minimal environment the cases start from, 64 names deep at most', async () => {
    const where = await newCase();
    const deepest = `${'d/'.repeat(63)}deep.txt`;
    const archive = await craft([{ path: `./${deepest}`, content: 'deep' }]);
    const deep = await withExtractedArchive(archive, (root) => fs.readFile(path.join(root, deepest), 'utf8'), { tempParent: where.temp });
    assert.equal(deep, 'deep');
    assert.deepEqual(await fs.readdir(where.temp), []);
  });

  it('takes the owner from the archive only as root (as tar does), and always drops set-user-ID and set-group-ID bits', async () => {
    const where = await newCase();
    const archive = await craft([{ path: './plugins/tool', content: '#!/bin/sh\n', mode: 0o6755, uid: 4321 }]);
    const stat = (options: { keepOwners?: boolean }) =>
      withExtractedArchive(archive, (root) => fs.stat(path.join(root, 'plugins', 'tool')), { tempParent: where.temp, ...options });
    const taken = await stat({});
    assert.equal(taken.mode & 0o7777, 0o755);
    assert.equal(taken.uid, process.getuid?.() === 0 ? 4321 : process.getuid?.());
    const notTaken = await stat({ keepOwners: false });
    assert.equal(notTaken.mode & 0o7777, 0o755);
    assert.equal(notTaken.uid, process.getuid?.() ?? notTaken.uid);
    assert.deepEqual(await fs.readdir(where.temp), []);
  });

  it('refuses an entry with an absolute path', async () => {
    const where = await newCase();
    const archive = await craft([{ path: path.join(where.canary, 'evil.txt'), content: 'pwned' }]);
    await expectRefused(archive, where, /entry '.*evil\.txt' has an absolute path.*extract it yourself with tar/);
  });

  it("refuses an entry that climbs out with '..'", async () => {
    const where = await newCase();
    const archive = await craft([{ path: '../../../canary/evil.txt', content: 'pwned' }]);
    await expectRefused(archive, where, /'\.\.\/\.\.\/\.\.\/canary\/evil\.txt' climbs out of the archive with '\.\.'/);
  });

  it('refuses a symbolic link to an absolute path, and the file written through it', async () => {
    const where = await newCase();
    const archive = await craft([
      { path: './link', type: 'SymbolicLink', linkpath: where.canary },
      { path: './link/evil.txt', content: 'pwned' },
    ]);
    await expectRefused(archive, where, /'\.\/link' is a symbolic link to '.*canary', outside the archive/);
  });

  it("refuses a symbolic link up with '../..', and one to /etc", async () => {
    const where = await newCase();
    const up = await craft([
      { path: './link', type: 'SymbolicLink', linkpath: '../../../canary' },
      { path: './link/evil.txt', content: 'pwned' },
    ]);
    await expectRefused(up, where, /is a symbolic link to '\.\.\/\.\.\/\.\.\/canary', outside the archive/);
    const etc = await craft([{ path: './conf/passwd', type: 'SymbolicLink', linkpath: '/etc/passwd' }]);
    await expectRefused(etc, where, /'\.\/conf\/passwd' is a symbolic link to '\/etc\/passwd'/);
  });

  it('refuses a file written through a link that itself stays inside', async () => {
    const where = await newCase();
    const archive = await craft([
      { path: './conf-link', type: 'SymbolicLink', linkpath: 'conf' },
      { path: './conf-link/trac.ini', content: 'replaced through the link' },
    ]);
    await expectRefused(archive, where, /'\.\/conf-link\/trac\.ini' would be written through the symbolic link 'conf-link'/);
  });

  it('refuses links whose targets each stay inside but lead out together', async () => {
    const where = await newCase();
    // a/b/c -> ../.. is the top, so x -> a/b/c/../../../canary reads as 'canary' but climbs from the top to the real one.
    const archive = await craft([
      { path: './a/b/', type: 'Directory' },
      { path: './a/b/c', type: 'SymbolicLink', linkpath: '../..' },
      { path: './x', type: 'SymbolicLink', linkpath: 'a/b/c/../../../canary' },
    ]);
    await expectRefused(archive, where, /'x' is a symbolic link to 'a\/b\/c\/\.\.\/\.\.\/\.\.\/canary', which leads outside the archive/);
  });

  it('refuses a link that stays inside the archive but leads out of the environment folder in it', async () => {
    const where = await newCase();
    const archive = await writeTarGz(path.join(tmp, `crafted-${caseNumber}.tar.gz`), [
      { path: './', type: 'Directory' },
      { path: './top/', type: 'Directory' },
      { path: './top/VERSION', content: 'Trac Environment Version 1\n' },
      { path: './top/conf/', type: 'Directory' },
      { path: './top/conf/trac.ini', content: '[trac]\ndatabase = sqlite:db/trac.db\n' },
      { path: './top/files', type: 'SymbolicLink', linkpath: '../projectB/files' },
      { path: './projectB/files/attachments/secret.txt', content: 'another environment’s' },
    ]);
    await expectRefused(archive, where, /'top\/files' is a symbolic link to '\.\.\/projectB\/files', which leads outside the environment/);
  });

  it('refuses hard links to a path outside, absolute or not, and to nothing extracted before', async () => {
    const where = await newCase();
    const keep = path.join(where.canary, 'keep.txt');
    for (const linkpath of [keep, '../../../canary/keep.txt', 'conf/missing.ini', 'conf']) {
      const archive = await craft([{ path: './conf/hard.ini', type: 'Link', linkpath }]);
      await expectRefused(archive, where, /'\.\/conf\/hard\.ini' is a hard link to '.*', which is not a file extracted before it/);
    }
  });

  it('refuses character devices and FIFOs', async () => {
    const where = await newCase();
    const device = await craft([{ path: './db/null', type: 'CharacterDevice' }]);
    await expectRefused(device, where, /'\.\/db\/null' is a character device/);
    const fifo = await craft([{ path: './db/pipe', type: 'FIFO' }]);
    await expectRefused(fifo, where, /'\.\/db\/pipe' is a FIFO/);
  });

  it('refuses an entry that appears twice', async () => {
    const where = await newCase();
    const archive = await craft([{ path: './conf/trac.ini', content: 'second copy' }]);
    await expectRefused(archive, where, /'\.\/conf\/trac\.ini' appears twice/);
  });

  it('refuses a decompression bomb at the header that announces it, before writing any of it', async () => {
    const where = await newCase();
    const archive = await writeZeroBomb(path.join(tmp, 'bomb-file.tar.gz'), 256 * MIB, 'file', ENVIRONMENT);
    assert.ok((await fs.stat(archive)).size < 1 * MIB, 'a few hundred KB');
    const started = Date.now();
    await expectRefused(archive, where, /holds files of more than 200 times its size .*'\.\/db\/trac\.db'.*decompression bomb/);
    assert.ok(Date.now() - started < 5000, `refused in ${Date.now() - started} ms`);
  });

  it('refuses a decompression bomb that no header announces, on its ratio', async () => {
    const where = await newCase();
    const archive = await writeZeroBomb(path.join(tmp, 'bomb-trailing.tar.gz'), 256 * MIB, 'trailing', ENVIRONMENT);
    const started = Date.now();
    await expectRefused(archive, where, /expands more than 200 times.*decompression bomb/);
    assert.ok(Date.now() - started < 5000, `refused in ${Date.now() - started} ms`);
  });

  it('refuses more than the total allowed, whatever the ratio', async () => {
    const where = await newCase();
    const archive = await craft([{ path: './db/trac.db', content: Buffer.alloc(64 * 1024, 1) }]);
    await expectRefused(archive, where, /holds more than 32.0 KB of files/, { limits: { maxBytes: 32 * 1024, maxRatio: 1e9 } });
  });

  it('refuses a path deeper than 64 names', async () => {
    const where = await newCase();
    const archive = await craft([{ path: `./${'d/'.repeat(64)}deep.txt`, content: 'deep' }]);
    await expectRefused(archive, where, /is 65 folders deep, more than the 64 allowed/);
  });

  it('refuses more entries than allowed', async () => {
    const where = await newCase();
    const many = Array.from({ length: 30 }, (_, i) => ({ path: `./htdocs/f${i}.txt`, content: `${i}` }));
    await expectRefused(await craft(many), where, /'\.\/htdocs\/f16\.txt' is one more than the 20 entries/, {
      limits: { maxEntries: 20 },
    });
  });

  it('refuses a gzip inside the gzip, and what is not a .tar.gz at all', async () => {
    const where = await newCase();
    const inner = await craft([]);
    const { gzipSync } = await import('node:zlib');
    const twice = path.join(tmp, 'twice.tar.gz');
    await fs.writeFile(twice, gzipSync(await fs.readFile(inner)));
    await expectRefused(twice, where, /is compressed twice/);
    const plain = path.join(tmp, 'plain.tar.gz');
    await fs.writeFile(plain, 'not an archive at all');
    await expectRefused(plain, where, /not a complete gzip file/, { code: 'ARCHIVE_DAMAGED' });
    const truncated = path.join(tmp, 'truncated.tar.gz');
    await fs.writeFile(truncated, (await fs.readFile(inner)).subarray(0, 100));
    await expectRefused(truncated, where, /cannot be extracted/, { code: 'ARCHIVE_DAMAGED' });
  });

  it('refuses an archive without a Trac environment in it', async () => {
    const where = await newCase();
    const archive = await writeTarGz(path.join(tmp, 'no-env.tar.gz'), [
      { path: 'one/VERSION', content: 'Trac Environment Version 1\n' },
      { path: 'two/VERSION', content: 'Trac Environment Version 1\n' },
    ]);
    await expectRefused(archive, where, /several folders with a VERSION file \(one, two\)/, { code: 'NOT_AN_ENVIRONMENT' });
  });
});
