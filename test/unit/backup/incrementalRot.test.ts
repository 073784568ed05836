import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { attachmentRelativePath } from '../../../src/core/trac/attachments';
import { type HotcopyResult, hotcopy } from '../../../src/core/backup/hotcopy';
import { readManifest } from '../../../src/core/catalog/manifest';
import { readVerifications, recordVerification, verificationOf, verificationStoreFile } from '../../../src/core/catalog/verificationStore';
import { verifyBackup } from '../../../src/core/verify/verify';
import { startNode } from '../../support/childProcess';
import { runCliCaptured } from '../../support/cliRun';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';
import { sha256 } from '../../support/treeCompare';

const ATTACHMENT = attachmentRelativePath('ticket', '30', 'log-1.bin');
const cli = (...args: string[]) => runCliCaptured(args);

/**
 * Bit rot as a disk does it: one byte of the file changes in place, its size and modification
 * time stay (put back to the nanosecond, by Python's os.utime), so nothing but its content tells.
 */
async function rot(file: string): Promise<void> {
  const before = await fs.stat(file, { bigint: true });
  execFileSync('/usr/bin/python3', ['-c', ROT, file]);
  const after = await fs.stat(file, { bigint: true });
  assert.deepEqual([after.size, after.mtimeNs], [before.size, before.mtimeNs], 'size and time are as they were');
  assert.notEqual(after.ctimeNs, before.ctimeNs);
}

const ROT = `
import os, sys
path = sys.argv[1]
st = os.stat(path)
os.chmod(path, 0o644)
with open(path, 'r+b') as f:
    f.seek(st.st_size // 2)
    byte = f.read(1)
    f.seek(st.st_size // 2)
    f.write(bytes([byte[0] ^ 0x40]))
os.chmod(path, st.st_mode & 0o7777)
os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
`;

describe('incremental backups and the verification store', () => {
  let tmp: string;
  let stateDir: string;
  let savedStateDir: string | undefined;
  let env: string;
  let folder: string;
  let count = 0;
  const next = () => path.join(folder, `env-b${++count}`);
  before(async () => {
    tmp = await makeTempDir();
    savedStateDir = process.env.TRAC_BACKUP_STATE_DIR;
  });
  beforeEach(async () => {
    stateDir = path.join(tmp, `state-${count}`);
    process.env.TRAC_BACKUP_STATE_DIR = stateDir;
    env = await copyFixture('trac-1.6-populated', 'env', path.join(tmp, `area-${count}`));
    folder = path.join(path.dirname(env), 'backups');
  });
  after(async () => {
    process.env.TRAC_BACKUP_STATE_DIR = savedStateDir;
    await removeTempDir(tmp);
  });

  it('verify records its result in the per-user store (TRAC_BACKUP_STATE_DIR), private to the user', async () => {
    const backup = (await hotcopy(env, next())).dest;
    const result = await cli('verify', backup);
    assert.equal(result.code, 0, result.stderr);

    const file = verificationStoreFile();
    assert.equal(file, path.join(stateDir, 'verifications.json'));
    assert.equal((await fs.stat(file)).mode & 0o777, 0o600);
    const record = await verificationOf(backup);
    assert.equal(record?.ok, true);
    assert.equal(record?.problems, 0);
    assert.equal(record?.createdAt, (await readManifest(backup))?.createdAt);
    assert.ok(Date.parse(record.verifiedAt) >= Date.parse(record.createdAt));
    assert.deepEqual((await fs.readdir(stateDir)).sort(), ['verifications.json'], 'written by rename: no temporary file is left');

    await rot(path.join(backup, ATTACHMENT));
    assert.equal((await cli('verify', backup)).code, 1);
    const failed = await verificationOf(backup);
    assert.deepEqual([failed?.ok, failed?.problems], [false, 1]);
    assert.match(failed?.summary[0] ?? '', new RegExp(`${ATTACHMENT}: .*SHA-256`));
  });

  it('keeps every result when several are recorded at once, in this process and in another', async () => {
    const folders = await Promise.all(
      Array.from({ length: 12 }, async (_, index) => {
        const folder = path.join(tmp, `concurrent-${count}`, `backup-${index}`);
        await fs.mkdir(folder, { recursive: true });
        return folder;
      }),
    );
    const result = (backup: string) => ({ backup, ok: true, problems: [], startedAt: new Date().toISOString() });
    const script = `
      const { recordVerification } = require(${JSON.stringify(path.join(__dirname, '..', '..', '..', 'src', 'core', 'catalog', 'verificationStore.js'))});
      const folders = JSON.parse(process.argv[1]);
      Promise.all(folders.map((backup) => recordVerification({ backup, ok: true, problems: [], startedAt: new Date().toISOString() })))
        .catch((error) => { console.error(error); process.exitCode = 1; });
    `;
    const child = startNode(['-e', script, JSON.stringify(folders.slice(6))]);
    await Promise.all(folders.slice(0, 6).map((folder) => recordVerification(result(folder))));
    assert.equal((await child.exited).code, 0, child.stderr());
    const recorded = (await readVerifications()).map((record) => record.backup).sort();
    assert.deepEqual(recorded, [...folders].sort());
    assert.deepEqual((await fs.readdir(stateDir)).sort(), ['verifications.json'], 'no lock or temporary file is left');
  });

  it('a backup deleted and made again under the same name is not verified', async () => {
    const dest = next();
    await hotcopy(env, dest);
    assert.equal((await cli('verify', dest)).code, 0);
    assert.equal((await verificationOf(dest))?.ok, true);
    await fs.rm(dest, { recursive: true, force: true });
    await hotcopy(env, dest);
    assert.equal(await verificationOf(dest), undefined);
  });

  it('hotcopy --incremental makes a full backup, saying why, when no backup of the environment passed verification', async () => {
    const first = (await hotcopy(env, next())).dest;
    const result = await cli('hotcopy', env, next(), '--incremental');
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stdout, /linked from/);
    assert.match(result.stdout, /^note: .*passed verification.*full backup/m);
    assert.ok(result.stdout.includes(`run 'trac-backup verify ${first}'`), result.stdout);
    const json = await cli('hotcopy', env, next(), '--incremental', '--json');
    assert.equal((JSON.parse(json.stdout) as HotcopyResult).incremental, false);
  });

  it('hotcopy --incremental links from the newest verified backup, not from a newer one never verified', async () => {
    const verified = (await hotcopy(env, next())).dest;
    assert.equal((await cli('verify', verified)).code, 0);
    await hotcopy(env, next()); // newer, never verified
    const result = await cli('hotcopy', env, next(), '--incremental', '--json');
    assert.equal(result.code, 0, result.stderr);
    const json = JSON.parse(result.stdout) as HotcopyResult;
    assert.deepEqual([json.incremental, json.linkDest], [true, verified]);
    assert.ok(json.linkedFiles > 40);
  });

  it('never links rot into a new backup: a file of the verified backup changed in place is copied from the environment, and said so', async () => {
    const verified = (await hotcopy(env, next())).dest;
    assert.equal((await cli('verify', verified)).code, 0);
    await rot(path.join(verified, ATTACHMENT));

    const dest = next();
    const result = await cli('hotcopy', env, dest, '--incremental');

    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /linked from/);
    const note = result.stdout.split('\n').find((line) => line.includes('no longer matches its checksum'));
    assert.ok(note, result.stdout);
    assert.ok(note.includes(ATTACHMENT) && note.includes(verified), note);
    assert.match(note, /copied from the environment; that backup is damaged/);
    assert.equal(await sha256(path.join(dest, ATTACHMENT)), await sha256(path.join(env, ATTACHMENT)), 'the new backup has the good copy');
    const [made, old] = await Promise.all([fs.stat(path.join(dest, ATTACHMENT)), fs.stat(path.join(verified, ATTACHMENT))]);
    assert.notEqual(made.ino, old.ino, 'not a link to the damaged file');
    const check = await verifyBackup(dest);
    assert.deepEqual(check.problems, []);
    assert.ok(check.ok);
    const json = JSON.parse((await cli('hotcopy', env, next(), '--link-dest', verified, '--json')).stdout) as HotcopyResult;
    assert.match(json.linkDestDamaged ?? '', /no longer matches its checksum/);
  });
});
