import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { restore } from '../../../src/core/restore/restore';
import { verifyBackup } from '../../../src/core/verify/verify';
import { attachmentRelativePath } from '../../../src/core/trac/attachments';
import { TracBackupError } from '../../../src/core/shared/errors';
import { makeTempDir, removeTempDir } from '../../support/fixtures';
import { MariadbServer, copyServerFixture, startMariadb } from '../../support/dbServers';
import { startNode } from '../../support/childProcess';
import { connectMysql } from '../../../src/core/mysql/mysqlConnection';
import { ServerDatabaseLocation, parseDatabaseUrl } from '../../../src/core/trac/databaseUrl';

describe('restore and verify of a MySQL/MariaDB environment (a real MariaDB 10.11 server)', () => {
  let server: MariadbServer;
  let tmp: string;
  let counter = 0;
  before(async () => {
    server = await startMariadb();
    tmp = await makeTempDir();
  });
  after(async () => {
    await server?.stop();
    await removeTempDir(tmp);
  });

  async function backedUp() {
    const n = ++counter;
    const database = await server.createFixtureDatabase(`trac_${n}`);
    // The restore keeps the old tables in trac_N_before_restore_… and loads into trac_N_restore_…
    await server.root(`GRANT ALL PRIVILEGES ON \`trac\\_${n}\\_%\`.* TO 'trac'@'127.0.0.1'`);
    const area = path.join(tmp, `case-${n}`);
    await fs.mkdir(area);
    const env = await copyServerFixture('mysql', area, 'env', server.url(database));
    const backup = (await hotcopy(env, path.join(area, 'backup'))).dest;
    return { env, database, area, backup };
  }
  const value = (database: string, sql: string) => server.root(sql, database);
  const tickets = async (database: string) => Number(await value(database, 'SELECT COUNT(*) FROM ticket'));
  const pages = async (database: string) => Number(await value(database, 'SELECT COUNT(DISTINCT name) FROM wiki'));

  async function attachmentsAgree(env: string, database: string) {
    const rows = (await value(database, "SELECT CONCAT(type, '|', id, '|', filename) FROM attachment")).split('\n').filter(Boolean);
    assert.equal(rows.length, 40);
    for (const row of rows) {
      const [type, id, filename] = row.split('|');
      await fs.access(path.join(env, ...attachmentRelativePath(type, id, filename).split('/')));
    }
  }

  it('restores over itself with one RENAME TABLE: the old tables kept in <db>_before_restore_…; verify and --deep pass', async () => {
    const { env, database, backup } = await backedUp();
    const verified = await verifyBackup(backup);
    assert.deepEqual(verified.problems, []);
    assert.equal(verified.database.check, 'dump');
    await server.root("GRANT ALL PRIVILEGES ON `trac\\_backup\\_verify\\_%`.* TO 'trac'@'127.0.0.1'");
    const deep = await verifyBackup(backup, { deep: true });
    assert.deepEqual(deep.problems, []);
    assert.equal(deep.database.version, '45');
    assert.equal(await server.root("SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name LIKE 'trac_backup_verify_%'"), '0');
    await value(
      database,
      "INSERT INTO ticket (summary, status) VALUES ('after the backup', 'new'); DELETE FROM wiki WHERE name = 'Page0001'",
    );
    const result = await restore(backup, env, { replace: true });
    const aside = result.serverDatabase?.aside ?? '';
    assert.match(aside, new RegExp(`^${database}_before_restore_\\d{8}_\\d{6}$`));
    assert.equal(await tickets(database), 60);
    assert.equal(await pages(database), 85);
    assert.equal(await tickets(aside), 61, 'the old data is kept');
    assert.equal(await value(database, 'SELECT summary FROM ticket WHERE id = 1'), 'Ticket 0: ünïcode ✓');
    assert.equal(
      await server.root(`SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name LIKE '${database}\\_restore\\_%'`),
      '0',
      'no scratch left',
    );
    await attachmentsAgree(env, database);
  });

  it('restores into another database (--database-url), refusing other connections by name, and a trac-admin hotcopy folder', async () => {
    const { backup, database } = await backedUp();
    const moved = `${database}_moved`;
    await server.createFixtureDatabase(moved, { load: false });
    const url = server.url(moved);
    const target = path.join(tmp, `moved-${counter}`);
    const holder = await connectMysql(parseDatabaseUrl(url, tmp) as ServerDatabaseLocation, 'holding');
    try {
      const refused = await restore(backup, target, { replace: true, databaseUrl: url }).then(
        () => undefined,
        (error: unknown) => error,
      );
      assert.ok(refused instanceof TracBackupError && refused.code === 'DATABASE_IN_USE', String(refused));
      assert.match(refused.message, /connection \d+ \(user trac, from 127\.0\.0\.1/);
    } finally {
      await holder.end();
    }
    const result = await restore(backup, target, { replace: true, databaseUrl: url });
    assert.equal(result.serverDatabase?.aside, null);
    assert.equal(await tickets(moved), 60);
    assert.match(
      await fs.readFile(path.join(target, 'conf', 'trac.ini'), 'utf8'),
      new RegExp(`^database = ${url.replace(/[.?*+]/g, '\\$&')}$`, 'm'),
    );
    await attachmentsAgree(target, moved);

    // trac-admin hotcopy's own dump: mysqldump as Trac runs it (with --single-transaction, as our README's workaround).
    const folder = await copyServerFixture('mysql', path.join(tmp, `hotcopy-${counter}`), 'hotcopy', server.url(database));
    await fs.mkdir(path.join(folder, 'db'));
    execFileSync(
      'mariadb-dump',
      [
        '--no-defaults',
        '-h',
        '127.0.0.1',
        '-P',
        String(server.port),
        '-u',
        'trac',
        '--single-transaction',
        '-r',
        path.join(folder, 'db', 'mysql-db-backup.sql'),
        database,
      ],
      {
        env: { ...process.env, MYSQL_PWD: 'trac' },
      },
    );
    const fromHotcopy = `${database}_hc`;
    await server.createFixtureDatabase(fromHotcopy, { load: false });
    await restore(folder, path.join(tmp, `hc-restored-${counter}`), { replace: true, databaseUrl: server.url(fromHotcopy) });
    assert.equal(await tickets(fromHotcopy), 60);
  });

  it('refuses without the privilege to create the aside database, naming it and --in-place; --in-place then restores', async () => {
    const n = ++counter;
    const database = await server.createFixtureDatabase(`trac_${n}`, { user: 'narrow', password: 'narrowpw' });
    const area = path.join(tmp, `case-${n}`);
    await fs.mkdir(area);
    const env = await copyServerFixture('mysql', area, 'env', server.url(database, { user: 'narrow', password: 'narrowpw' }));
    const backup = (await hotcopy(env, path.join(area, 'backup'))).dest;
    await value(database, "INSERT INTO ticket (summary, status) VALUES ('after', 'new')");
    const error = await restore(backup, env, { replace: true }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof TracBackupError && error.code === 'SERVER_PRIVILEGE_MISSING', String(error));
    assert.match(error.message, /may not create the database .*--in-place/);
    assert.ok(!error.message.includes('narrowpw'));
    assert.equal(await tickets(database), 61, 'nothing changed');
    const result = await restore(backup, env, { replace: true, inPlace: true });
    assert.equal(result.serverDatabase?.inPlace, true);
    assert.equal(await tickets(database), 60);
  });

  it('a restore killed with SIGKILL at random instants leaves the old data or the new, whole; the next run tidies up and finishes', async () => {
    const { env, database, backup } = await backedUp();
    await value(database, "INSERT INTO ticket (summary, status) VALUES ('after the backup', 'new')");
    for (const delay of [200, 700, 1300, 2000]) {
      const child = startNode([
        path.join(__dirname, '..', '..', 'support', 'restoreChild.js'),
        JSON.stringify({ backup, environment: env, replace: true }),
      ]);
      await new Promise((resolve) => setTimeout(resolve, delay));
      child.child.kill('SIGKILL');
      await child.exited;
      await new Promise((resolve) => setTimeout(resolve, 300));
      const now = await tickets(database);
      assert.ok(now === 60 || now === 61, `whole: ${now} tickets`);
      assert.equal(await pages(database), 85);
    }
    const result = await restore(backup, env, { replace: true });
    assert.equal(await tickets(database), 60);
    assert.equal(
      await server.root(`SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name LIKE '${database}\\_restore\\_%'`),
      '0',
      'scratch databases tidied',
    );
    assert.ok(result.serverDatabase?.aside);
    await attachmentsAgree(env, database);
  });
});
