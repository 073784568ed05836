import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { parseDatabaseUrl } from '../../../src/core/trac/databaseUrl';

const env = path.resolve('/srv/trac/project');

test('a relative sqlite: path is inside the environment', () => {
  const location = parseDatabaseUrl('sqlite:db/trac.db', env);
  assert.deepEqual(location, {
    kind: 'sqlite',
    file: path.join(env, 'db', 'trac.db'),
    external: false,
    params: {},
    display: 'sqlite:db/trac.db',
  });
});

test('query parameters are split off the path', () => {
  const location = parseDatabaseUrl('sqlite:db/trac.db?journal_mode=WAL&timeout=5000', env);
  assert.equal(location.kind, 'sqlite');
  if (location.kind === 'sqlite') {
    assert.equal(location.file, path.join(env, 'db', 'trac.db'));
    assert.deepEqual(location.params, { journal_mode: 'WAL', timeout: '5000' });
  }
});

test('absolute sqlite paths, with one or three slashes, are external', () => {
  for (const url of ['sqlite:/var/lib/trac/main.db', 'sqlite:///var/lib/trac/main.db']) {
    const location = parseDatabaseUrl(url, env);
    assert.equal(location.kind, 'sqlite');
    if (location.kind === 'sqlite') {
      assert.equal(location.file, path.resolve('/var/lib/trac/main.db'));
      assert.equal(location.external, true);
    }
  }
});

test('a server database shows scheme, host and name, never the password', () => {
  const location = parseDatabaseUrl('postgres://trac:s3cret@db.example:5432/tracdb?schema=trac', env);
  assert.equal(location.kind, 'other');
  assert.equal(location.display, 'postgres://db.example:5432/tracdb');
  assert.ok(!JSON.stringify(location).includes('s3cret'));
  assert.equal(parseDatabaseUrl('mysql://u:p@localhost/trac', env).display, 'mysql://localhost/trac');
});

test('strings that name no database file are refused', () => {
  assert.throws(() => parseDatabaseUrl('nonsense', env), /not a database connection string/);
  assert.throws(() => parseDatabaseUrl('sqlite::memory:', env), /in-memory/);
});
