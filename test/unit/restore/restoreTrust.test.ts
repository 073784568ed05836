import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { CliInput } from '../../../src/cli/command';
import { exportArchive } from '../../../src/core/archive/exportArchive';
import { walkTree } from '../../../src/core/fs/fileTree';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { BackupManifest, MANIFEST_FILE, readManifest, writeManifest } from '../../../src/core/catalog/manifest';
import { type RestoreResult, restore } from '../../../src/core/restore/restore';
import { restoreFromArchive } from '../../../src/core/workflows/restoreFromArchive';
import { verifyBackup } from '../../../src/core/verify/verify';
import { writeTarGz } from '../../support/craftTar';
import { errorLine, runCliCaptured } from '../../support/cliRun';
import { inspectDatabase } from '../../support/database';
import { FIXTURES_DIR, copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';
import { besideEnvironment, expectedRestore } from '../../support/restoreCase';
import { compareTrees, fingerprintTree } from '../../support/treeCompare';

const hasGnuTar = spawnSync('tar', ['--version'], { encoding: 'utf8' }).stdout?.includes('GNU tar') ?? false;

/** A file's identity and content, to prove it was not touched (not replaced, not rewritten). */
async function identity(file: string): Promise<string> {
  const stats = await fs.lstat(file);
  return `${stats.ino} ${stats.size} ${stats.mtimeMs} ${stats.mode} ${(await fs.readFile(file)).toString('base64')}`;
}

/** An environment whose database lies outside it (an absolute sqlite: path), as production often has. */
async function externalEnvironment(root: string, name = 'production'): Promise<{ env: string; database: string }> {
  const env = await copyFixture('trac-1.6-populated', name, root);
  const database = path.join(root, `${name}-db`, 'trac.db');
  await fs.mkdir(path.dirname(database));
  await fs.rename(path.join(env, 'db', 'trac.db'), database);
  const ini = path.join(env, 'conf', 'trac.ini');
  await fs.writeFile(ini, (await fs.readFile(ini, 'utf8')).replace('database = sqlite:db/trac.db', `database = sqlite:${database}`));
  return { env, database };
}

/** Rewrites a backup's metadata by hand, as anyone who hands over a backup or an archive can. */
async function tamper(backup: string, change: (manifest: BackupManifest) => void): Promise<void> {
  const manifest = (await readManifest(backup)) as BackupManifest;
  change(manifest);
  await fs.rm(path.join(backup, MANIFEST_FILE));
  await writeManifest(backup, manifest);
}

function onTerminal(answer: string) {
  return { stdin: Object.assign(Readable.from([answer]), { isTTY: true }) as unknown as CliInput };
}

describe('restore trusts no metadata with a path outside the environment', () => {
  let tmp: string;
  let canaryDir: string;
  let area = 0;
  const newArea = async () => {
    const dir = path.join(tmp, `case-${++area}`);
    await fs.mkdir(dir);
    return dir;
  };
  before(async () => {
    tmp = await makeTempDir();
    // Outside the test's folder, as ~/.ssh is outside wherever a restore runs.
    canaryDir = await makeTempDir('trac-backup-canary-');
  });
  after(async () => {
    await removeTempDir(tmp);
    await removeTempDir(canaryDir);
  });

  it('an archive whose metadata names any absolute path as its external database writes nothing there, with or without --yes (run as root)', async () => {
    const root = await newArea();
    const { env } = await externalEnvironment(root);
    const backup = (await hotcopy(env, path.join(root, 'backups', 'b1'))).dest;
    const keys = path.join(canaryDir, 'case-1', '.ssh', 'authorized_keys');
    await tamper(backup, (manifest) => {
      manifest.database.file = keys;
      manifest.database.configRewritten = { file: 'conf/trac.ini', originalUrl: `sqlite:${keys}` };
    });
    const evil = (await exportArchive(backup, path.join(root, 'evil.tar.gz'))).archive;
    const target = path.join(root, 'newenv');

    const fresh = await runCliCaptured(['restore', evil, target]);

    assert.equal(fresh.code, 0, fresh.stderr);
    await assert.rejects(fs.lstat(path.dirname(keys)), { code: 'ENOENT' }, 'nothing was made at the path the metadata names');
    assert.equal(inspectDatabase(path.join(target, 'db', 'trac.db')).tickets, 60, 'the database is inside the new environment');
    assert.match(await fs.readFile(path.join(target, 'conf', 'trac.ini'), 'utf8'), /^database = sqlite:db\/trac\.db$/m);
    assert.ok(fresh.stdout.includes(`${path.join(target, 'db', 'trac.db')}`), fresh.stdout);
    assert.ok(fresh.stdout.includes(`${keys}, where it was backed up from, was not touched`), fresh.stdout);

    // Now a file is there, and the restore replaces an environment with --yes.
    await fs.mkdir(path.dirname(keys), { recursive: true });
    await fs.writeFile(keys, 'ssh-ed25519 AAAA the owner\n', { mode: 0o600 });
    const before = await identity(keys);
    const replaced = await runCliCaptured(['restore', evil, target, '--yes', '--json']);

    assert.equal(replaced.code, 0, replaced.stderr);
    const json = JSON.parse(replaced.stdout) as RestoreResult;
    assert.equal(json.database, null, 'no database was restored to a path of its own');
    assert.equal(json.databaseInside?.file, path.join(target, 'db', 'trac.db'));
    assert.equal(json.databaseInside?.backedUpFrom, keys);
    assert.equal(await identity(keys), before, 'the file at the path the metadata names is untouched');
    assert.deepEqual(await fs.readdir(path.dirname(keys)), ['authorized_keys'], 'nothing was put beside it');
    assert.match(json.aside ?? '', /newenv\.before-restore-/);
  });

  it('verify reports metadata that does not agree with itself about an external database, and says what a restore does with one', async () => {
    const root = await newArea();
    const { env, database } = await externalEnvironment(root);
    const backup = (await hotcopy(env, path.join(root, 'backups', 'b1'))).dest;

    const whole = await verifyBackup(backup);
    assert.equal(whole.ok, true, JSON.stringify(whole.problems));
    assert.ok(
      whole.notes.some(
        (note) =>
          note.includes(database) && /restore writes it back there only over an environment whose trac\.ini names that file/.test(note),
      ),
      whole.notes.join(' | '),
    );

    await tamper(backup, (manifest) => {
      manifest.database.file = path.join(canaryDir, 'elsewhere.db');
    });
    const tampered = await verifyBackup(backup);
    assert.equal(tampered.ok, false, 'a tampered path is not whole');
    assert.ok(
      tampered.problems.some((problem) => problem.path === MANIFEST_FILE && problem.problem.includes(path.join(canaryDir, 'elsewhere.db'))),
      JSON.stringify(tampered.problems),
    );
    await assert.rejects(restore(backup, path.join(root, 'restored')), { code: 'BACKUP_DAMAGED' });
    await assert.rejects(fs.lstat(path.join(canaryDir, 'elsewhere.db')), { code: 'ENOENT' });
  });

  it('a restore drill into a new folder keeps the database inside it, never touches production’s, and is not refused', async () => {
    const root = await newArea();
    const { env, database } = await externalEnvironment(root);
    const backup = (await hotcopy(env, path.join(root, 'backups', 'b1'))).dest;
    const production = await identity(database);
    const drill = path.join(root, 'drill', 'place');

    const result = await runCliCaptured(['restore', backup, drill]);

    assert.equal(result.code, 0, result.stderr);
    assert.equal(await identity(database), production, 'production’s database is untouched');
    assert.deepEqual(await besideEnvironment(database), { asides: [], work: [] });
    assert.equal(inspectDatabase(path.join(drill, 'db', 'trac.db')).tickets, 60);
    assert.match(await fs.readFile(path.join(drill, 'conf', 'trac.ini'), 'utf8'), /^database = sqlite:db\/trac\.db$/m);
    assert.match(result.stdout, /database was restored inside the environment, to .*drill\/place\/db\/trac\.db/);
    assert.ok(result.stdout.includes(`${database}, where it was backed up from, was not touched`), result.stdout);

    const confirmed = await runCliCaptured(['restore', backup, path.join(root, 'drill', 'again'), '--yes', '--json']);
    assert.equal(confirmed.code, 0, confirmed.stderr);
    assert.equal((JSON.parse(confirmed.stdout) as RestoreResult).database, null);
    assert.equal(await identity(database), production, 'production’s database is untouched with --yes too');
  });

  it('over an environment whose trac.ini names another database, the database goes inside and neither database is touched', async () => {
    const root = await newArea();
    const { env, database } = await externalEnvironment(root);
    const backup = (await hotcopy(env, path.join(root, 'backups', 'b1'))).dest;
    const other = await externalEnvironment(root, 'staging');
    const production = await identity(database);
    const staging = await identity(other.database);

    const result = await restore(backup, other.env, { replace: true });

    assert.equal(result.database, null);
    assert.equal(result.databaseInside?.file, path.join(other.env, 'db', 'trac.db'));
    assert.equal(await identity(database), production);
    assert.equal(await identity(other.database), staging);
    assert.equal(inspectDatabase(path.join(other.env, 'db', 'trac.db')).tickets, 60);
  });

  it('over the environment the backup was made of, the database goes back to its own path (its trac.ini names it)', async () => {
    const root = await newArea();
    const { env, database } = await externalEnvironment(root);
    const backup = (await hotcopy(env, path.join(root, 'backups', 'b1'))).dest;
    const refused = await runCliCaptured(['restore', backup, env]);
    assert.equal(refused.code, 1);
    assert.match(
      errorLine(refused.stderr),
      /production exists and restoring replaces it \(kept as .*production\.before-restore-.*\) and the database .*production-db\/trac\.db \(kept as .*trac\.db\.before-restore-/,
    );

    const result = await restore(backup, env, { replace: true });

    assert.equal(result.database?.file, database);
    assert.equal(result.databaseInside, null);
    assert.match(await fs.readFile(path.join(env, 'conf', 'trac.ini'), 'utf8'), new RegExp(`^database = sqlite:${database}$`, 'm'));
  });
});

describe('restore from an archive', () => {
  let tmp: string;
  before(async () => {
    tmp = await makeTempDir();
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it('checks links against the folder that becomes the environment, not the archive’s top', async () => {
    const root = path.join(tmp, 'links');
    const sibling = await copyFixture('trac-1.6-populated', 'projectB', root);
    const archive = await writeTarGz(path.join(root, 'crafted.tar.gz'), [
      { path: './', type: 'Directory' },
      { path: './top/', type: 'Directory' },
      { path: './top/VERSION', content: 'Trac Environment Version 1\n' },
      { path: './top/conf/', type: 'Directory' },
      { path: './top/conf/trac.ini', content: '[trac]\ndatabase = sqlite:db/trac.db\n' },
      { path: './top/db/', type: 'Directory' },
      { path: './top/db/trac.db', content: await fs.readFile(path.join(FIXTURES_DIR, 'trac-1.6-fresh', 'db', 'trac.db')) },
      { path: './top/files', type: 'SymbolicLink', linkpath: '../projectB/files' },
      { path: './projectB/', type: 'Directory' },
    ]);
    const before = await fingerprintTree(root);

    const result = await runCliCaptured(['restore', archive, path.join(root, 'newenv')]);

    assert.equal(result.code, 1);
    const line = errorLine(result.stderr);
    assert.ok(line.includes(archive), line);
    assert.match(line, /its entry 'top\/files' is a symbolic link to '\.\.\/projectB\/files', which leads outside the environment/);
    await assert.rejects(fs.lstat(path.join(root, 'newenv')), { code: 'ENOENT' });
    assert.deepEqual(await fingerprintTree(root), before, 'nothing was left beside it');
    await fs.access(path.join(sibling, 'files'));
  });

  it('over the environment it was made of, moves the unpacked tree in and puts the external database back on its own path', async () => {
    const root = path.join(tmp, 'external');
    const { env, database } = await externalEnvironment(root);
    const ini = path.join(env, 'conf', 'trac.ini');
    const iniText = await fs.readFile(ini, 'utf8');
    const backup = (await hotcopy(env, path.join(root, 'backups', 'b1'))).dest;
    const archive = (await exportArchive(backup, path.join(root, 'b1.tar.gz'))).archive;
    const snapshot = await fs.readFile(path.join(backup, 'db', 'trac.db'));
    await fs.writeFile(path.join(env, 'htdocs', 'after.txt'), 'after the backup');

    const result = await restoreFromArchive(archive, env, { replace: true });

    assert.equal(result.backup, archive);
    assert.equal(result.database?.file, database);
    assert.deepEqual(await fs.readFile(database), snapshot);
    assert.equal(await fs.readFile(ini, 'utf8'), iniText, 'trac.ini names the external database again');
    const expected = await expectedRestore(backup);
    expected.delete('db/trac.db');
    expected.delete('conf/trac.ini');
    const actual = await fingerprintTree(env);
    actual.delete('conf/trac.ini');
    assert.deepEqual(actual, expected);
    assert.equal(result.files, (await readManifest(backup))?.fileCount);
    assert.deepEqual(
      (await fs.readdir(root)).filter((name) => name.startsWith('.')),
      [],
    );
    assert.deepEqual((await fs.readdir(path.dirname(database))).sort(), ['trac.db', path.basename(result.database.aside!)].sort());
  });

  it(
    'restores a tar of a plain trac-admin hotcopy folder (no metadata, one top folder), making initenv’s folders',
    { skip: !hasGnuTar && 'GNU tar is not installed' },
    async () => {
      const root = path.join(tmp, 'plain');
      const plain = await copyFixture('trac-1.6-populated', 'project', root);
      await fs.rm(path.join(plain, 'htdocs'), { recursive: true });
      // GNU tar's default format keeps whole seconds: give the folder whole-second times to compare exactly.
      for (const entry of [...(await walkTree(plain)), { absolute: plain }]) {
        const second = new Date(Math.floor((await fs.lstat(entry.absolute)).mtimeMs / 1000) * 1000);
        await fs.lutimes(entry.absolute, second, second);
      }
      const archive = path.join(root, 'project.tgz');
      assert.equal(spawnSync('tar', ['czf', archive, '-C', root, 'project']).status, 0);
      const target = path.join(root, 'restored');

      const result = await restoreFromArchive(archive, target);

      assert.deepEqual(result.madeFolders, ['htdocs']);
      assert.deepEqual(await compareTrees(plain, target, (relative) => relative === 'htdocs'), []);
      assert.equal(inspectDatabase(path.join(target, 'db', 'trac.db')).tickets, 60);
    },
  );

  it('names the archive in its errors, never the unpacked folder, and does not advise verify on an archive', async () => {
    const root = path.join(tmp, 'damaged');
    const env = await copyFixture('trac-1.6-populated', 'env', root);
    const backup = (await hotcopy(env, path.join(root, 'backups', 'b1'))).dest;
    await fs.chmod(path.join(backup, 'README'), 0o644);
    await fs.appendFile(path.join(backup, 'README'), 'changed after the backup\n');
    const damaged = (await exportArchive(backup, path.join(root, 'damaged.tar.gz'))).archive;
    const invalid = await writeTarGz(path.join(root, 'invalid.tar.gz'), [
      { path: './', type: 'Directory' },
      { path: './VERSION', content: 'Trac Environment Version 1\n' },
      { path: './conf/trac.ini', content: '[trac]\ndatabase = sqlite:db/trac.db\n' },
      { path: `./${MANIFEST_FILE}`, content: '{ not json' },
    ]);

    for (const [archive, reason] of [
      [damaged, /README is \d+ bytes, the metadata says \d+/],
      [invalid, /\.trac-backup\.json .*not valid JSON/],
    ] as const) {
      const result = await runCliCaptured(['restore', archive, path.join(root, 'restored')]);
      assert.equal(result.code, 1, archive);
      const line = errorLine(result.stderr);
      assert.ok(line.includes(`The archive ${archive} `), line);
      assert.match(line, reason);
      assert.doesNotMatch(line, /\.unpack-|trac-backup verify \S*\.tar\.gz/, line);
      assert.doesNotMatch(line, /lists every problem/, 'verify cannot take an archive');
      await assert.rejects(fs.lstat(path.join(root, 'restored')), { code: 'ENOENT' });
      assert.deepEqual(
        (await fs.readdir(root)).filter((name) => name.startsWith('.')),
        [],
        'nothing was left beside it',
      );
    }
  });

  it('says before it asks that a --no-database backup leaves the environment without a database', async () => {
    const root = path.join(tmp, 'no-database');
    const env = await copyFixture('trac-1.6-populated', 'env', root);
    const backup = (await hotcopy(env, path.join(root, 'backups', 'b1'), { includeDatabase: false })).dest;
    const archive = (await exportArchive(backup, path.join(root, 'b1.tar.gz'))).archive;

    for (const source of [backup, archive]) {
      const declined = await runCliCaptured(['restore', source, env], onTerminal('n\n'));
      assert.equal(declined.code, 1, declined.stderr);
      const [question] = declined.stderr.split('[y/N]');
      assert.match(question, /The backup was made without its database \(--no-database\): .*env will have no database/, declined.stderr);
      await fs.access(path.join(env, 'db', 'trac.db'));
    }
  });
});
