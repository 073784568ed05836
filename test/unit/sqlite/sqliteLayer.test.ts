import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkDatabaseOffThread } from '../../../src/core/sqlite/databaseCheckThread';
import {
  forcedLayer,
  isBusy,
  openDatabase,
  runtimeDescription,
  sqliteLayer,
  sqliteLayerInUse,
  whatToDoWithoutSqlite,
} from '../../../src/core/sqlite/sqlite';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';
import { openTracDatabase } from '../../support/database';

const SQLITE_JS = path.resolve(__dirname, '../../../src/core/sqlite/sqlite.js');

/** Runs a script in a child Node with `env` (and no TRAC_BACKUP_SQLITE unless given) and returns its stdout's JSON. */
function inChild(
  script: string,
  file: string,
  env: Record<string, string> = {},
  preload?: string,
): { status: number | null; out: unknown; stderr: string } {
  const base = { ...process.env };
  delete base.TRAC_BACKUP_SQLITE;
  const run = spawnSync(process.execPath, [...(preload ? ['--require', preload] : []), '-e', script, file], {
    encoding: 'utf8',
    env: { ...base, ...env },
  });
  let out: unknown;
  try {
    out = JSON.parse(run.stdout);
  } catch {
    out = run.stdout;
  }
  return { status: run.status, out, stderr: run.stderr };
}

const REPORT = `
  const sqlite = require(${JSON.stringify(SQLITE_JS)});
  const db = sqlite.openDatabase(process.argv[1], 'read-only');
  const version = db.prepare("SELECT value FROM system WHERE name = 'database_version'").get().value;
  db.close();
  console.log(JSON.stringify({ layer: sqlite.sqliteLayerInUse(), version, description: sqlite.runtimeDescription() }));
`;

describe('the SQLite layer (better-sqlite3, or node:sqlite where it cannot load)', () => {
  let tmp: string;
  let dbFile: string;
  before(async () => {
    tmp = await makeTempDir();
    dbFile = path.join(await copyFixture('trac-1.6-populated', 'env', tmp), 'db', 'trac.db');
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it('reads TRAC_BACKUP_SQLITE strictly', () => {
    assert.equal(forcedLayer(''), undefined);
    assert.equal(forcedLayer('  '), undefined);
    assert.equal(forcedLayer('node'), 'node:sqlite');
    assert.equal(forcedLayer('node:sqlite'), 'node:sqlite');
    assert.equal(forcedLayer('Better-SQLite3'), 'better-sqlite3');
    assert.throws(() => forcedLayer('sqlite3'), /TRAC_BACKUP_SQLITE=sqlite3 names no SQLite layer: use better-sqlite3 or node/);
  });

  it('uses better-sqlite3 where it loads, and says so in the runtime description', () => {
    const run = inChild(REPORT, dbFile);
    assert.equal(run.status, 0, run.stderr);
    const out = run.out as { layer: string; version: string; description: string };
    assert.equal(out.layer, 'better-sqlite3');
    assert.equal(out.version, '45');
    assert.match(out.description, /SQLite through better-sqlite3 \d+\.\d+\.\d+, SQLite 3\.\d+/);
  });

  it('falls back to node:sqlite when better-sqlite3 fails to load (as its prebuild does on glibc 2.31), silently', async () => {
    // A real load failure, as Debian 11 gives it: dlopen's error from the require.
    const preload = path.join(tmp, 'old-glibc.js');
    await fs.writeFile(
      preload,
      `const Module = require('module');
       const load = Module._load;
       Module._load = function (request, ...rest) {
         if (request === 'better-sqlite3') {
           throw new Error("/lib/x86_64-linux-gnu/libc.so.6: version \`GLIBC_2.33' not found (required by better_sqlite3.node)");
         }
         return load.call(this, request, ...rest);
       };`,
    );
    const run = inChild(REPORT, dbFile, {}, preload);
    assert.equal(run.status, 0, run.stderr);
    const out = run.out as { layer: string; version: string; description: string };
    assert.equal(out.layer, 'node:sqlite');
    assert.equal(out.version, '45');
    assert.match(out.description, /SQLite through node:sqlite of Node 22\.\d+\.\d+, SQLite 3\.\d+/);
    assert.doesNotMatch(run.stderr, /ExperimentalWarning/, 'no warning on stderr');
  });

  // The failure is a Linux one (an old glibc): on the Windows and macOS runners there is none to simulate.
  it(
    'says so, naming each layer and what to do, where neither loads',
    { skip: process.platform !== 'linux' && 'simulates an old glibc: Linux only' },
    () => {
      const run = inChild(
        `const sqlite = require(${JSON.stringify(SQLITE_JS)});
       try { sqlite.openDatabase(process.argv[1], 'read-only'); } catch (error) { console.log(JSON.stringify({ code: error.code, message: error.message })); }`,
        dbFile,
        { TRAC_BACKUP_SQLITE: 'better-sqlite3' },
        path.join(tmp, 'old-glibc.js'),
      );
      const out = run.out as { code: string; message: string };
      assert.equal(out.code, 'SQLITE_UNAVAILABLE');
      assert.match(
        out.message,
        /^No SQLite layer loads on platform linux-x64, Node 22[^(]*\(better-sqlite3: .*GLIBC_2\.33' not found.*\)\. better-sqlite3's binary needs glibc 2\.34, which this Linux does not have, so only Node's node:sqlite can read databases here, or run it with a Node that has node:sqlite/,
      );
    },
  );

  it('where neither loads, says what to do by where it runs: desktop VS Code (Electron) or a plain Node', () => {
    const versions = (node: string, electron?: string) => ({ ...process.versions, node, electron }) as NodeJS.ProcessVersions;
    // VS Code 1.101: Electron 35.5.1 with Node 22.15.1, whose node:sqlite has no backup().
    const desktop101 = whatToDoWithoutSqlite(versions('22.15.1', '35.5.1'));
    assert.match(
      desktop101,
      /^Reinstall the extension \(its better-sqlite3 binary did not load\): update VS Code to one whose Node is 22\.16 or newer/,
    );
    assert.match(desktop101, /this one's is 22\.15\.1: Help > About/);
    // An Ubuntu 20.04 desktop: reinstalling cannot help there.
    assert.match(
      whatToDoWithoutSqlite(versions('22.15.1', '35.5.1'), true),
      /^better-sqlite3's binary needs glibc 2\.34, which this Linux does not have, so only Node's node:sqlite can read databases here: update VS Code to one whose Node is 22\.16/,
    );
    assert.match(whatToDoWithoutSqlite(versions('22.17.0', '37.2.0')), /^Reinstall the extension .* or update VS Code \(Help > About/);
    assert.match(whatToDoWithoutSqlite(versions('22.12.0')), /^Run with Node 22\.16 or newer \(this is Node 22\.12\.0\)/);
    assert.match(whatToDoWithoutSqlite(versions('24.1.0')), /^Reinstall the extension or the CLI .*node -e "require\('node:sqlite'\)"/);
  });

  // The tests below run with both layers (npm run test:unit runs sqlite/ a second time with TRAC_BACKUP_SQLITE=node).
  it(`gives rows, blobs and errors as better-sqlite3 does (layer: ${process.env.TRAC_BACKUP_SQLITE ?? 'default'})`, () => {
    const db = openDatabase(dbFile, 'read-only');
    try {
      assert.equal(db.layer, forcedLayer() ?? 'better-sqlite3');
      assert.equal(sqliteLayerInUse(), db.layer);
      assert.match(runtimeDescription(), new RegExp(`SQLite through ${db.layer}`));
      const row = db
        .prepare<{ blob: Buffer; n: number; text: string; none: null }>("SELECT x'00ff10' AS blob, 7 AS n, 'é' AS text, NULL AS none")
        .get();
      assert.deepStrictEqual(row, { blob: Buffer.from([0, 255, 16]), n: 7, text: 'é', none: null });
      assert.equal(Object.getPrototypeOf(row), Object.prototype);
      assert.deepStrictEqual(db.prepare('SELECT 1, ? AS b').values('two'), [[1, 'two']]);
      assert.deepStrictEqual(db.pragma('integrity_check'), [{ integrity_check: 'ok' }]);
      assert.throws(() => db.exec('SELECT * FROM no_such_table'), { code: 'SQLITE_ERROR', message: /no such table: no_such_table/ });
    } finally {
      db.close();
    }
    assert.throws(() => openDatabase(path.join(tmp, 'missing.db'), 'read-write'), { code: 'SQLITE_CANTOPEN' });
  });

  it("reports another connection's lock as busy, and the check thread uses the same layer", async () => {
    const holder = openTracDatabase(dbFile);
    const other = openDatabase(dbFile, 'read-write');
    try {
      holder.exec('BEGIN EXCLUSIVE');
      assert.throws(
        () => other.exec('BEGIN IMMEDIATE'),
        (error: unknown) => isBusy(error),
      );
      holder.exec('ROLLBACK');
      other.exec('BEGIN IMMEDIATE');
      assert.equal(other.inTransaction, true);
      other.exec('ROLLBACK');
    } finally {
      other.close();
      holder.close();
    }
    assert.equal(other.open, false);
    const check = await checkDatabaseOffThread(dbFile, 'quick_check');
    assert.deepEqual({ ok: check.ok, version: check.version }, { ok: true, version: '45' });
    assert.equal(sqliteLayer().name, forcedLayer() ?? 'better-sqlite3');
  });
});
