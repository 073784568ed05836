// The Database row of an environment as the tree shows it, from the details the list really reads:
// off real SQLite files, and off throwaway PostgreSQL and MariaDB servers. Beside the label, what a
// person scans for and fits the default sidebar width (the database's name and size, or why not);
// the URL, Trac's database version and the contents in the tooltip; never the password.
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readEnvironment } from '../../../src/core/trac/environment';
import { readEnvironmentDetails } from '../../../src/core/trac/environmentDetails';
import { databaseRowWording } from '../../../src/ui/databaseRow';
import { StartedChild, startNode } from '../../support/childProcess';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';
import { MariadbServer, PostgresServer, copyServerFixture, freePort, startMariadb, startPostgres } from '../../support/dbServers';

const PASSWORD = 'Row-Secret-4z';

/**
 * The most characters a Database row's description may take: at code-server's default sidebar
 * width the row has room for about 25 after its label (the e2e tests check the rendered rows).
 */
const ROOM = 25;

describe('the tree row of a SQLite environment (real fixtures)', () => {
  let tmp: string;
  before(async () => {
    tmp = await makeTempDir();
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  async function rowOf(env: string) {
    const environment = await readEnvironment(env);
    const wording = databaseRowWording(environment, await readEnvironmentDetails(environment));
    assert.ok(wording, 'no Database row');
    assert.ok(wording.description.length <= ROOM, `too long for the default width: "${wording.description}"`);
    return wording;
  }

  it('the file and its size beside the label; the path, Trac database version and size in the tooltip', async () => {
    const env = await copyFixture('trac-1.6-populated', 'sqlite-row', tmp);
    const row = await rowOf(env);
    assert.equal(row.reachable, true);
    assert.match(row.description, /^db\/trac\.db · [\d.]+ KB$/);
    assert.equal(row.tooltip, `${path.join(env, 'db', 'trac.db')}\nTrac database version 45\n${row.description.split(' · ')[1]}`);
  });

  it('a database file outside the environment: its name beside the label, its full path in the tooltip', async () => {
    const env = await copyFixture('trac-1.6-populated', 'external-row', tmp);
    const elsewhere = path.join(tmp, 'databases', 'a-rather-long-folder-name-for-databases');
    await fs.mkdir(elsewhere, { recursive: true });
    await fs.rename(path.join(env, 'db', 'trac.db'), path.join(elsewhere, 'project.db'));
    const ini = path.join(env, 'conf', 'trac.ini');
    const config = await fs.readFile(ini, 'utf8');
    await fs.writeFile(ini, config.replace(/^database = .*$/m, `database = sqlite:${path.join(elsewhere, 'project.db')}`));
    const row = await rowOf(env);
    assert.match(row.description, /^project\.db · [\d.]+ KB$/);
    assert.match(
      row.tooltip ?? '',
      new RegExp(`^${escape(path.join(elsewhere, 'project.db'))} \\(outside the environment folder\\)\nTrac database version 45\n`),
    );
  });

  it('a database another process keeps locked: "busy" beside the label, why in the tooltip', async () => {
    const env = await copyFixture('trac-1.6-populated', 'busy-row', tmp);
    let holder: StartedChild | undefined;
    try {
      holder = startNode([path.join(__dirname, '..', '..', 'support', 'lockHolder.js')], {
        ...process.env,
        TRAC_DB: path.join(env, 'db', 'trac.db'),
        TRAC_LOCK: 'exclusive',
      });
      await holder.waitForLine((line) => line === 'locked');
      const row = await rowOf(env);
      assert.equal(row.description, 'db/trac.db · busy');
      assert.match(row.tooltip ?? '', /Locked by another process \(Trac writing\?\): its version is read at the next refresh\./);
    } finally {
      holder?.child.stdin?.end();
      await holder?.exited;
    }
  });

  it('a file that is no database: said beside the label, the reason in the tooltip, a warning', async () => {
    const env = await copyFixture('trac-1.6-populated', 'broken-row', tmp);
    await fs.writeFile(path.join(env, 'db', 'trac.db'), 'not a database at all, but long enough to have a header of sorts'.repeat(20));
    const row = await rowOf(env);
    assert.equal(row.description, 'db/trac.db · unreadable');
    assert.equal(row.reachable, false);
    assert.match(row.tooltip ?? '', /\nCannot read it: /);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('the tree row of a server database environment (real PostgreSQL 15 and MariaDB 10.11 servers)', () => {
  let postgres: PostgresServer;
  let mariadb: MariadbServer;
  let tmp: string;
  before(async () => {
    [postgres, mariadb] = await Promise.all([startPostgres(), startMariadb()]);
    tmp = await makeTempDir();
  });
  after(async () => {
    await Promise.all([postgres?.stop(), mariadb?.stop()]);
    await removeTempDir(tmp);
  });

  async function rowFor(kind: 'postgres' | 'mysql', as: string, url: string) {
    const env = await copyServerFixture(kind, tmp, as, url);
    const environment = await readEnvironment(env);
    assert.ok(environment.database && environment.database.kind === kind, `not read as ${kind}: ${JSON.stringify(environment.database)}`);
    const details = await readEnvironmentDetails(environment);
    const wording = databaseRowWording(environment, details);
    assert.ok(wording, 'no Database row');
    const shown = `${wording.description}\n${wording.tooltip ?? ''}`;
    assert.ok(!shown.includes(PASSWORD), `the row shows the password:\n${shown}`);
    assert.ok(wording.description.length <= ROOM, `too long for the default width: "${wording.description}"`);
    return wording;
  }

  it('PostgreSQL, reachable: database and size beside the label; server, version, tickets and wiki pages in the tooltip', async () => {
    const database = await postgres.createFixtureDatabase('trac_row', { role: 'rowrole', password: PASSWORD });
    const row = await rowFor('postgres', 'pg-up', postgres.url(database, { role: 'rowrole', password: PASSWORD }));
    assert.equal(row.reachable, true);
    assert.match(row.description, /^trac_row · [\d.]+ (KB|MB)$/);
    assert.match(
      row.tooltip ?? '',
      new RegExp(
        `^PostgreSQL database postgres://127\\.0\\.0\\.1:${postgres.port}/trac_row\nTrac database version 45\n[\\d.]+ (KB|MB) of tables\n60 tickets, \\d+ wiki pages$`,
      ),
    );
  });

  it('PostgreSQL, unreachable: said on the row, the reason in the tooltip, no password (wrong password, server down)', async () => {
    const wrong = await rowFor('postgres', 'pg-wrong', postgres.url('trac_row', { role: 'rowrole', password: `${PASSWORD}-not` }));
    assert.equal(wrong.reachable, false);
    assert.equal(wrong.description, 'trac_row · unreachable');
    assert.match(
      wrong.tooltip ?? '',
      new RegExp(`^PostgreSQL database postgres://127\\.0\\.0\\.1:${postgres.port}/trac_row\n.*password`, 'is'),
    );
    const down = await rowFor('postgres', 'pg-down', `postgres://rowrole:${PASSWORD}@127.0.0.1:${await freePort()}/trac_row`);
    assert.equal(down.reachable, false);
    assert.equal(down.description, 'trac_row · unreachable');
    assert.match(down.tooltip ?? '', /^PostgreSQL database postgres:\/\/127\.0\.0\.1:\d+\/trac_row\n./, 'no reason given');
  });

  it('MySQL/MariaDB, reachable and unreachable', async () => {
    const database = await mariadb.createFixtureDatabase('trac_row', { user: 'rowuser', password: PASSWORD });
    const up = await rowFor('mysql', 'my-up', mariadb.url(database, { user: 'rowuser', password: PASSWORD }));
    assert.equal(up.reachable, true);
    assert.match(up.description, /^trac_row · [\d.]+ (KB|MB)$/);
    assert.match(
      up.tooltip ?? '',
      new RegExp(
        `^MySQL/MariaDB database mysql://127\\.0\\.0\\.1:${mariadb.port}/trac_row\nTrac database version 45\n.*\n60 tickets, \\d+ wiki pages$`,
      ),
    );
    const down = await rowFor('mysql', 'my-down', `mysql://rowuser:${PASSWORD}@127.0.0.1:${await freePort()}/trac_row`);
    assert.equal(down.reachable, false);
    assert.equal(down.description, 'trac_row · unreachable');
    assert.match(down.tooltip ?? '', /^MySQL\/MariaDB database mysql:\/\/127\.0\.0\.1:\d+\/trac_row\n./, 'no reason given');
  });
});
