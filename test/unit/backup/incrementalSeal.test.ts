import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { attachmentRelativePath } from '../../../src/core/trac/attachments';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { MANIFEST_FILE, readManifest } from '../../../src/core/catalog/manifest';
import { verifyBackup } from '../../../src/core/verify/verify';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';
import { sha256 } from '../../support/treeCompare';

const MB = 1024 * 1024;
const BIG = attachmentRelativePath('ticket', '30', 'big.bin');
const BIG_BYTES = 24 * MB;

/** Bytes this process has read so far, through any call and on any thread (rchar: page cache included). */
const bytesRead = () => Number(/^rchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))![1]);

/** One byte changed in place, size and mtime put back (as bit rot or a careless edit would leave it): only ctime and content tell. */
function rot(file: string): void {
  execFileSync('/usr/bin/python3', [
    '-c',
    `import os, sys
p = sys.argv[1]; st = os.stat(p)
os.chmod(p, 0o644)
with open(p, 'r+b') as f:
    f.seek(st.st_size // 2); b = f.read(1); f.seek(st.st_size // 2); f.write(bytes([b[0] ^ 0x40]))
os.chmod(p, st.st_mode & 0o7777)
os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))`,
    file,
  ]);
}

/**
 * A backup is sealed when its metadata is written: every file is in place, with the SHA-256 of
 * the bytes copied. An incremental backup from it links the files unchanged since (their ctime
 * older than the metadata file's) without reading them: the cost of cp -al, not of a read of
 * the whole previous backup. A file changed since (even with size and mtime put back) is read.
 */
describe('incremental backups from a sealed backup', () => {
  let tmp: string;
  let env: string;
  let count = 0;
  const next = () => path.join(path.dirname(env), 'backups', `b${++count}`);
  before(async () => {
    tmp = await makeTempDir();
    env = await copyFixture('trac-1.6-populated', 'env', tmp);
    await fs.mkdir(path.dirname(path.join(env, BIG)), { recursive: true });
    await fs.writeFile(path.join(env, BIG), Buffer.alloc(BIG_BYTES, 7));
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it('records when the backup was sealed, just before its metadata was written', async () => {
    const started = Date.now();
    const { dest } = await hotcopy(env, next());
    const manifest = await readManifest(dest);
    const sealed = Date.parse(manifest!.seal!.at);
    assert.ok(sealed >= started && sealed <= Date.now(), manifest!.seal!.at);
    const folder = await fs.stat(dest);
    assert.deepEqual([manifest!.seal!.folder.dev, manifest!.seal!.folder.ino], [folder.dev, folder.ino], 'the folder it was made in');
    const metadata = await fs.lstat(path.join(dest, MANIFEST_FILE));
    assert.ok(Math.abs(metadata.ctimeMs - sealed) < 1000);
  });

  it("links a sealed, never verified backup's unchanged files without reading them", async () => {
    const base = (await hotcopy(env, next())).dest;
    const readBefore = bytesRead();
    const incremental = await hotcopy(env, next(), { linkDest: base });
    const read = bytesRead() - readBefore;

    assert.equal(incremental.linkedFiles, incremental.files - 1);
    assert.ok(read < BIG_BYTES / 2, `read ${read} bytes: the previous backup's files were read again`);
    const verified = await verifyBackup(incremental.dest);
    assert.deepEqual(verified.problems, []);
  });

  it('reads, and does not link, a file of the sealed backup changed since (size and mtime put back)', async () => {
    const base = (await hotcopy(env, next())).dest;
    rot(path.join(base, BIG));
    const readBefore = bytesRead();
    const incremental = await hotcopy(env, next(), { linkDest: base });
    assert.ok(bytesRead() - readBefore >= BIG_BYTES, 'the changed file was read');

    assert.match(incremental.linkDestDamaged ?? '', new RegExp(`${BIG}.*no longer matches its checksum`));
    const [made, old] = await Promise.all([fs.stat(path.join(incremental.dest, BIG)), fs.stat(path.join(base, BIG))]);
    assert.notEqual(made.ino, old.ino, 'not a link to the changed file');
    assert.equal(await sha256(path.join(incremental.dest, BIG)), await sha256(path.join(env, BIG)));
  });

  it('takes no seal from metadata written long after its seal, or from a copy of the backup', async () => {
    const base = (await hotcopy(env, next())).dest;
    // Metadata edited later (here: its seal a minute before the file's ctime) vouches for nothing.
    const file = path.join(base, MANIFEST_FILE);
    const manifest = JSON.parse(await fs.readFile(file, 'utf8')) as { seal: { at: string } };
    manifest.seal.at = new Date(Date.now() - 60_000).toISOString();
    await fs.chmod(file, 0o644);
    await fs.writeFile(file, JSON.stringify(manifest));
    let readBefore = bytesRead();
    await hotcopy(env, next(), { linkDest: base });
    assert.ok(bytesRead() - readBefore >= BIG_BYTES, 'with no seal, the files are read before they are linked');

    // A copy made with cp -a at once: its files are as new as its metadata file, in another folder.
    const sealed = (await hotcopy(env, next())).dest;
    const copy = `${sealed}-copy`;
    execFileSync('cp', ['-a', sealed, copy]);
    readBefore = bytesRead();
    await hotcopy(env, next(), { linkDest: copy });
    assert.ok(bytesRead() - readBefore >= BIG_BYTES);
  });
});
