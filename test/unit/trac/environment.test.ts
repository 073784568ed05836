import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { readEnvironment, requireEnvironment, whyNotAnEnvironment } from '../../../src/core/trac/environment';
import { readEnvironmentDetails } from '../../../src/core/trac/environmentDetails';
import { TracBackupError } from '../../../src/core/shared/errors';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';

const temps: string[] = [];
after(() => Promise.all(temps.map(removeTempDir)));
async function fixture(name: 'trac-1.6-fresh' | 'trac-1.6-populated'): Promise<string> {
  const env = await copyFixture(name);
  temps.push(path.dirname(env));
  return env;
}

test('the fixtures are environments, with their project names and databases', async () => {
  const populated = await readEnvironment(await fixture('trac-1.6-populated'));
  assert.equal(populated.name, 'Populated Project');
  assert.deepEqual(populated.problems, []);
  assert.equal(populated.database?.kind, 'sqlite');
  const fresh = await readEnvironment(await fixture('trac-1.6-fresh'));
  assert.equal(fresh.name, 'Fresh Project');
});

test('details count attachments and read the Trac database version through SQLite', async () => {
  const env = await readEnvironment(await fixture('trac-1.6-populated'));
  const details = await readEnvironmentDetails(env);
  assert.equal(details.attachments.files, 40);
  assert.ok(details.attachments.bytes > 0);
  assert.equal(details.database?.version, '45');
  assert.equal(details.database?.error, undefined);
  assert.ok((details.database?.bytes ?? 0) > 100_000);
  assert.ok(details.bytes > details.attachments.bytes + (details.database?.bytes ?? 0));
});

test('a folder without VERSION, or with another VERSION, is not an environment and says why', async () => {
  const dir = await makeTempDir();
  temps.push(dir);
  assert.equal(await whyNotAnEnvironment(dir), 'it has no VERSION file');
  await fs.writeFile(path.join(dir, 'VERSION'), 'Subversion FS Version 8\n');
  assert.match((await whyNotAnEnvironment(dir)) ?? '', /VERSION file says "Subversion FS Version 8"/);
  await fs.writeFile(path.join(dir, 'VERSION'), 'Trac Environment Version 1\n');
  assert.equal(await whyNotAnEnvironment(dir), 'it has no conf/trac.ini');
  assert.equal(await whyNotAnEnvironment(path.join(dir, 'nope')), 'the folder does not exist');
  await assert.rejects(requireEnvironment(dir), (error: unknown) => {
    assert.ok(error instanceof TracBackupError);
    assert.equal(error.code, 'NOT_AN_ENVIRONMENT');
    assert.ok(error.message.includes(dir));
    assert.match(error.message, /Choose the folder that holds VERSION and conf\/trac.ini/);
    return true;
  });
});

test('an unreadable trac.ini is a problem, not a failure', async () => {
  const env = await fixture('trac-1.6-fresh');
  await fs.writeFile(path.join(env, 'conf', 'trac.ini'), 'this is not ini\n');
  const broken = await readEnvironment(env);
  assert.equal(broken.name, 'trac-1.6-fresh');
  assert.equal(broken.problems.length, 1);
  assert.match(broken.problems[0], /trac\.ini: .*conf\/trac\.ini is not valid/);
});

test('a missing database file is a problem naming the file', async () => {
  const env = await fixture('trac-1.6-fresh');
  await fs.rm(path.join(env, 'db', 'trac.db'));
  const broken = await readEnvironment(env);
  assert.equal(broken.name, 'Fresh Project');
  assert.match(broken.problems.join(' '), new RegExp(`database file ${path.join(env, 'db', 'trac.db').replace(/[.]/g, '\\.')} is missing`));
  const details = await readEnvironmentDetails(broken);
  assert.match(details.database?.error ?? '', /ENOENT|no such file/);
});

test('a WAL database URL and an absolute database path are understood', async () => {
  const env = await fixture('trac-1.6-fresh');
  const outside = await makeTempDir();
  temps.push(outside);
  await fs.rename(path.join(env, 'db', 'trac.db'), path.join(outside, 'main.db'));
  const ini = path.join(env, 'conf', 'trac.ini');
  const text = await fs.readFile(ini, 'utf8');
  await fs.writeFile(
    ini,
    text.replace('database = sqlite:db/trac.db', `database = sqlite:${path.join(outside, 'main.db')}?journal_mode=WAL`),
  );
  const environment = await readEnvironment(env);
  assert.deepEqual(environment.problems, []);
  assert.equal(environment.database?.kind, 'sqlite');
  if (environment.database?.kind === 'sqlite') {
    assert.equal(environment.database.file, path.join(outside, 'main.db'));
    assert.equal(environment.database.external, true);
    assert.deepEqual(environment.database.params, { journal_mode: 'WAL' });
  }
  assert.equal((await readEnvironmentDetails(environment)).database?.version, '45');
});

test('a VERSION saved with a byte-order mark (Windows Notepad) is still an environment', async () => {
  const env = await fixture('trac-1.6-fresh');
  const version = await fs.readFile(path.join(env, 'VERSION'), 'utf8');
  await fs.writeFile(path.join(env, 'VERSION'), `\uFEFF${version.replace(/\n/g, '\r\n')}`);
  assert.equal(await whyNotAnEnvironment(env), undefined);
  assert.equal((await readEnvironment(env)).name, 'Fresh Project');
});
