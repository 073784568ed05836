// The Database row of a PostgreSQL and a MySQL/MariaDB environment, as the tree shows it, from the
// details the list really reads off throwaway servers: server and database, size, version,
// contents, and why not when unreachable; never the password.
import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readEnvironment } from '../../../src/core/trac/environment';
import { readEnvironmentDetails } from '../../../src/core/trac/environmentDetails';
import { serverDatabaseWording } from '../../../src/ui/serverDatabaseRow';
import { makeTempDir, removeTempDir } from '../../support/fixtures';
import { MariadbServer, PostgresServer, copyServerFixture, freePort, startMariadb, startPostgres } from '../../support/dbServers';

const PASSWORD = 'Row-Secret-4z';

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
    const wording = serverDatabaseWording(environment.database.display, details.server);
    const shown = `${wording.description}\n${wording.tooltip ?? ''}`;
    assert.ok(!shown.includes(PASSWORD), `the row shows the password:\n${shown}`);
    return wording;
  }

  it('PostgreSQL, reachable: server and database, size, version; its tickets and wiki pages in the tooltip', async () => {
    const database = await postgres.createFixtureDatabase('trac_row', { role: 'rowrole', password: PASSWORD });
    const row = await rowFor('postgres', 'pg-up', postgres.url(database, { role: 'rowrole', password: PASSWORD }));
    assert.equal(row.reachable, true);
    assert.match(row.description, new RegExp(`^postgres://127\\.0\\.0\\.1:${postgres.port}/trac_row · [\\d.]+ (KB|MB) · version 45$`));
    assert.match(row.tooltip ?? '', /^postgres:\/\/127\.0\.0\.1:\d+\/trac_row, 60 tickets, \d+ wiki pages$/);
  });

  it('PostgreSQL, unreachable: said on the row, the reason in the tooltip, no password (wrong password, server down)', async () => {
    const wrong = await rowFor('postgres', 'pg-wrong', postgres.url('trac_row', { role: 'rowrole', password: `${PASSWORD}-not` }));
    assert.equal(wrong.reachable, false);
    assert.match(wrong.description, new RegExp(`^postgres://127\\.0\\.0\\.1:${postgres.port}/trac_row \\(unreachable\\)$`));
    assert.match(wrong.tooltip ?? '', /password/i);
    const down = await rowFor('postgres', 'pg-down', `postgres://rowrole:${PASSWORD}@127.0.0.1:${await freePort()}/trac_row`);
    assert.equal(down.reachable, false);
    assert.match(down.description, /\(unreachable\)$/);
    assert.ok((down.tooltip ?? '').length > 0, 'no reason given');
  });

  it('MySQL/MariaDB, reachable and unreachable', async () => {
    const database = await mariadb.createFixtureDatabase('trac_row', { user: 'rowuser', password: PASSWORD });
    const up = await rowFor('mysql', 'my-up', mariadb.url(database, { user: 'rowuser', password: PASSWORD }));
    assert.equal(up.reachable, true);
    assert.match(up.description, new RegExp(`^mysql://127\\.0\\.0\\.1:${mariadb.port}/trac_row · [\\d.]+ (KB|MB) · version 45$`));
    assert.match(up.tooltip ?? '', /, 60 tickets, \d+ wiki pages$/);
    const down = await rowFor('mysql', 'my-down', `mysql://rowuser:${PASSWORD}@127.0.0.1:${await freePort()}/trac_row`);
    assert.equal(down.reachable, false);
    assert.match(down.description, new RegExp(`^mysql://127\\.0\\.0\\.1:\\d+/trac_row \\(unreachable\\)$`));
    assert.ok((down.tooltip ?? '').length > 0, 'no reason given');
  });
});
