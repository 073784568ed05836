import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { IniReadError, parseIni, readTracConfig } from '../../../src/core/trac/tracIni';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';

test('parseIni keeps ; and # inside values, as Python configparser does for Trac', () => {
  const sections = parseIni('[trac]\ndatabase = postgres://u:pa#ss@db/trac;x\n# a comment\n; another\n[project]\nName = My # Project\n');
  assert.equal(sections.get('trac')?.get('database'), 'postgres://u:pa#ss@db/trac;x');
  assert.equal(sections.get('project')?.get('name'), 'My # Project');
});

test('parseIni joins indented continuation lines and rejects an option outside a section', () => {
  const sections = parseIni('[a]\nlist = one,\n  two\n');
  assert.equal(sections.get('a')?.get('list'), 'one,\ntwo');
  assert.throws(() => parseIni('orphan = 1\n'), /neither a \[section\]/);
});

test('readTracConfig reads the fixture: project name and database', async () => {
  const env = await copyFixture('trac-1.6-populated');
  try {
    const config = await readTracConfig(path.join(env, 'conf', 'trac.ini'));
    assert.equal(config.get('project', 'name'), 'Populated Project');
    assert.equal(config.get('trac', 'database'), 'sqlite:db/trac.db');
    assert.equal(config.get('project', 'nonexistent'), undefined);
  } finally {
    await removeTempDir(path.dirname(env));
  }
});

test('readTracConfig follows [inherit] file, relative to the inheriting file, own values first', async () => {
  const dir = await makeTempDir();
  try {
    await fs.mkdir(path.join(dir, 'env', 'conf'), { recursive: true });
    await fs.writeFile(
      path.join(dir, 'shared.ini'),
      '[project]\nname = Shared\ndescr = from parent\n[trac]\ndatabase = sqlite:db/other.db\n',
    );
    await fs.writeFile(path.join(dir, 'env', 'conf', 'trac.ini'), '[inherit]\nfile = ../../shared.ini\n[project]\nname = Own\n');
    const config = await readTracConfig(path.join(dir, 'env', 'conf', 'trac.ini'));
    assert.equal(config.get('project', 'name'), 'Own');
    assert.equal(config.get('project', 'descr'), 'from parent');
    assert.equal(config.get('trac', 'database'), 'sqlite:db/other.db');
    assert.deepEqual(config.files, [path.join(dir, 'env', 'conf', 'trac.ini'), path.join(dir, 'shared.ini')]);
  } finally {
    await removeTempDir(dir);
  }
});

test('readTracConfig names the file it could not read, including a missing inherited one', async () => {
  const dir = await makeTempDir();
  try {
    const ini = path.join(dir, 'trac.ini');
    await fs.writeFile(ini, '[inherit]\nfile = missing.ini\n');
    await assert.rejects(readTracConfig(ini), (error: unknown) => {
      assert.ok(error instanceof IniReadError);
      assert.equal(error.file, path.join(dir, 'missing.ini'));
      assert.match(error.message, /cannot be read \(ENOENT\)/);
      return true;
    });
  } finally {
    await removeTempDir(dir);
  }
});
