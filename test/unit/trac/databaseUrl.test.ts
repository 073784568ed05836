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
  assert.equal(location.kind, 'postgres');
  assert.equal(location.display, 'postgres://db.example:5432/tracdb?schema=trac');
  assert.ok(!location.display.includes('s3cret'));
  assert.equal(parseDatabaseUrl('mysql://u:p@localhost/trac', env).display, 'mysql://localhost/trac');
  assert.equal(parseDatabaseUrl('oracle://u:s3cret@h/x', env).kind, 'other');
  assert.ok(!parseDatabaseUrl('oracle://u:s3cret@h/x', env).display.includes('s3cret'));
});

test('PostgreSQL and MySQL URLs are read fully, as Trac reads them: user and password unquoted, socket, schema, port', () => {
  const pg = parseDatabaseUrl('postgres://tr%40c:p%3Ass%2Fw@:5433/trac_db?host=/run/pg&schema=s1&sslmode=require', env);
  assert.deepEqual(
    { ...pg },
    {
      kind: 'postgres',
      scheme: 'postgres',
      user: 'tr@c',
      password: 'p:ss/w',
      host: undefined,
      port: 5433,
      socket: '/run/pg',
      database: 'trac_db',
      schema: 's1',
      params: { sslmode: 'require' },
      display: 'postgres:///run/pg:5433/trac_db?schema=s1',
    },
  );
  const my = parseDatabaseUrl('mysql://trac:pw@localhost/trac?unix_socket=/run/mysqld/mysqld.sock', env);
  assert.equal(my.kind, 'mysql');
  if (my.kind === 'mysql') {
    assert.equal(my.socket, '/run/mysqld/mysqld.sock');
    assert.equal(my.port, undefined);
    assert.equal(my.host, 'localhost');
  }
  assert.throws(() => parseDatabaseUrl('postgres://u:p@h:5432/', env), /names no database/);
});

test('strings that name no database file are refused', () => {
  assert.throws(() => parseDatabaseUrl('nonsense', env), /not a database connection string/);
  assert.throws(() => parseDatabaseUrl('sqlite::memory:', env), /in-memory/);
});
