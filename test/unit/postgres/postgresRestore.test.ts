import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { restore } from '../../../src/core/restore/restore';
import { describeRestore } from '../../../src/core/restore/restorePlan';
import { verifyBackup } from '../../../src/core/verify/verify';
import { attachmentRelativePath } from '../../../src/core/trac/attachments';
import { TracBackupError } from '../../../src/core/shared/errors';
import { connectPostgres } from '../../../src/core/postgres/postgresConnection';
import { parseDatabaseUrl, ServerDatabaseLocation } from '../../../src/core/trac/databaseUrl';
import { makeTempDir, removeTempDir } from '../../support/fixtures';
import { PostgresServer, copyServerFixture, startPostgres } from '../../support/dbServers';
import { startNode } from '../../support/childProcess';
import { runBuiltCli } from '../../support/cliRun';

describe('restore and verify of a PostgreSQL environment (a real PostgreSQL 15 server)', () => {
  let server: PostgresServer;
  let tmp: string;
  let counter = 0;
  before(async () => {
    server = await startPostgres();
    tmp = await makeTempDir();
  });
  after(async () => {
    await server?.stop();
    await removeTempDir(tmp);
  });

  async function backedUp() {
    const n = ++counter;
    const database = await server.createFixtureDatabase(`trac_${n}`);
    const area = path.join(tmp, `case-${n}`);
    await fs.mkdir(area);
    const env = await copyServerFixture('postgres', area, 'env', server.url(database));
    const backup = (await hotcopy(env, path.join(area, 'backup'))).dest;
    return { env, database, area, backup };
  }
  const count = async (database: string, sql: string) => Number(await server.admin(sql, database));
  const tickets = (database: string, schema = 'public') => count(database, `SELECT count(*) FROM "${schema}".ticket`);
  const pages = (database: string, schema = 'public') => count(database, `SELECT count(DISTINCT name) FROM "${schema}".wiki`);

  /** Every attachment row of `database` has its file in `env`, and every file its row. */
  async function attachmentsAgree(env: string, database: string) {
    const rows = (await server.admin("SELECT type || '|' || id || '|' || filename FROM public.attachment", database))
      .split('\n')
      .filter(Boolean);
    assert.equal(rows.length, 40);
    for (const row of rows) {
      const [type, id, filename] = row.split('|');
      await fs.access(path.join(env, ...attachmentRelativePath(type, id, filename).split('/')));
    }
  }

  it('restores over itself: the old data kept aside as a schema the result names, the swap atomic; verify passes, --deep too', async () => {
    const { env, database, backup } = await backedUp();
    const verified = await verifyBackup(backup);
    assert.deepEqual(verified.problems, []);
    assert.equal(verified.database.check, 'dump');
    assert.equal(verified.database.path, `db/${database}.pgdump`);
    await server.admin('ALTER ROLE trac CREATEDB');
    const deep = await verifyBackup(backup, { deep: true });
    assert.deepEqual(deep.problems, []);
    assert.equal(deep.database.check, 'restored');
    assert.equal(deep.database.version, '45');
    assert.equal(
      await server.admin("SELECT count(*) FROM pg_database WHERE datname LIKE 'trac_backup_verify_%'"),
      '0',
      'the scratch database was dropped',
    );
    await server.admin('ALTER ROLE trac NOCREATEDB');
    await server.admin(
      "INSERT INTO public.ticket (summary, status) VALUES ('after the backup', 'new'); DELETE FROM public.wiki WHERE name = 'Page0001'",
      database,
    );
    assert.equal(await tickets(database), 61);
    const result = await restore(backup, env, { replace: true });
    assert.match(result.serverDatabase?.aside ?? '', /^public_before_restore_\d{8}_\d{6}$/);
    assert.equal(await tickets(database), 60);
    assert.equal(await pages(database), 85);
    assert.equal(await tickets(database, result.serverDatabase!.aside!), 61, 'the old data is kept in the aside schema');
    assert.equal(await server.admin("SELECT value FROM public.system WHERE name = 'database_version'", database), '45');
    assert.equal(await server.admin('SELECT summary FROM public.ticket WHERE id = 1', database), 'Ticket 0: ünïcode ✓');
    await attachmentsAgree(env, database);
    // The next ticket Trac makes gets id 61: the sequence came back too.
    assert.equal(await server.admin("SELECT nextval('public.ticket_id_seq')", database), '61');
  });

  it('describeRestore (what the extension asks before restoring) names the server database, both contents and the aside the restore then uses', async () => {
    const { env, database, backup } = await backedUp();
    await server.admin("INSERT INTO public.ticket (summary, status) VALUES ('after the backup', 'new')", database);
    const now = new Date();
    const plan = await describeRestore(backup, env, { now });
    assert.ok(plan.serverDatabase, 'the plan says nothing of the server database');
    assert.equal(plan.serverDatabase.display, `postgres://127.0.0.1:${server.port}/${database}`);
    assert.equal(plan.serverDatabase.holdsNow?.tickets, 61);
    assert.equal(plan.serverDatabase.backupHolds?.tickets, 60);
    assert.deepEqual(plan.warnings, []);
    assert.match(plan.serverDatabase.aside ?? '', /^public_before_restore_\d{8}_\d{6}$/);
    const result = await restore(backup, env, { replace: true, now });
    assert.equal(result.serverDatabase?.aside, plan.serverDatabase.aside);
    assert.equal(await tickets(database), 60);
    assert.equal(await tickets(database, plan.serverDatabase.aside!), 61);
  });

  it('restores into another database (--database-url), whose URL the restored trac.ini names; refuses other connections, naming them', async () => {
    const { backup, database } = await backedUp();
    await server.createFixtureDatabase(`${database}_moved`, { load: false });
    const url = server.url(`${database}_moved`);
    const target = path.join(tmp, `moved-${counter}`);
    const holder = await connectPostgres(parseDatabaseUrl(url, tmp) as ServerDatabaseLocation, 'holding', {});
    await holder.query("SET application_name = 'tracd-like'");
    try {
      const refused = await restore(backup, target, { replace: true, databaseUrl: url }).then(
        () => undefined,
        (error: unknown) => error,
      );
      assert.ok(refused instanceof TracBackupError && refused.code === 'DATABASE_IN_USE', String(refused));
      assert.match(refused.message, /tracd-like/);
      assert.ok(!refused.message.includes(':trac@'), 'no password in the message');
    } finally {
      await holder.end();
    }
    const result = await restore(backup, target, { replace: true, databaseUrl: url });
    assert.equal(result.serverDatabase?.aside, null, 'the new database held nothing to keep');
    assert.equal(await tickets(`${database}_moved`), 60);
    assert.equal(await pages(`${database}_moved`), 85);
    const ini = await fs.readFile(path.join(target, 'conf', 'trac.ini'), 'utf8');
    assert.match(ini, new RegExp(`^database = ${url.replace(/[.?*+]/g, '\\$&')}$`, 'm'));
    await attachmentsAgree(target, `${database}_moved`);
  });

  it('restores a trac-admin hotcopy folder (db/postgres-db-backup.sql.gz, as Trac 1.6 runs pg_dump)', async () => {
    const n = ++counter;
    const database = await server.createFixtureDatabase(`trac_${n}`);
    const area = path.join(tmp, `case-${n}`);
    const folder = await copyServerFixture('postgres', area, 'hotcopy', server.url(database));
    await fs.mkdir(path.join(folder, 'db'));
    execFileSync(
      'pg_dump',
      [
        '-C',
        '--inserts',
        '-x',
        '-Z',
        '8',
        '-U',
        'trac',
        '-h',
        '127.0.0.1',
        '-p',
        String(server.port),
        '-n',
        '"public"',
        '-f',
        path.join(folder, 'db', 'postgres-db-backup.sql.gz'),
        database,
      ],
      {
        env: { ...process.env, PGPASSWORD: 'trac' },
      },
    );
    await server.createFixtureDatabase(`${database}_fromhotcopy`, { load: false });
    const target = path.join(area, 'restored');
    const result = await restore(folder, target, { replace: true, databaseUrl: server.url(`${database}_fromhotcopy`) });
    assert.ok(result.serverDatabase);
    assert.equal(await tickets(`${database}_fromhotcopy`), 60);
    await attachmentsAgree(target, `${database}_fromhotcopy`);
    const verified = await verifyBackup(folder);
    assert.deepEqual(verified.problems, []);
    assert.equal(verified.database.path, 'db/postgres-db-backup.sql.gz');
  });

  it('verify finds a dump cut short; a restore refuses it and changes nothing', async () => {
    const { env, database, backup } = await backedUp();
    const dump = path.join(backup, 'db', `${database}.pgdump`);
    const size = (await fs.stat(dump)).size;
    await fs.chmod(dump, 0o600);
    await fs.truncate(dump, Math.floor(size / 2));
    const verified = await verifyBackup(backup);
    assert.ok(
      verified.problems.some(
        (problem) => problem.path === `db/${database}.pgdump` && /pg_restore cannot read all of it/.test(problem.problem),
      ),
      JSON.stringify(verified.problems),
    );
    await server.admin("INSERT INTO public.ticket (summary, status) VALUES ('after', 'new')", database);
    await assert.rejects(
      restore(backup, env, { replace: true }),
      (error: unknown) => error instanceof TracBackupError && error.code === 'BACKUP_DAMAGED',
    );
    assert.equal(await tickets(database), 61, 'nothing changed');
  });

  it('refuses, before changing anything, a role that may not create schemas, and a server of another kind', async () => {
    const { env, database, backup } = await backedUp();
    await server.admin(
      `CREATE ROLE weak LOGIN PASSWORD 'weakpw'; GRANT CONNECT ON DATABASE "${database}" TO weak; GRANT USAGE ON SCHEMA public TO weak`,
    );
    const weak = server.url(database, { role: 'weak', password: 'weakpw' });
    const error = await restore(backup, path.join(tmp, `weak-${counter}`), { replace: true, databaseUrl: weak }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof TracBackupError && error.code === 'SERVER_PRIVILEGE_MISSING', String(error));
    assert.match(error.message, /GRANT CREATE ON DATABASE/);
    assert.ok(!error.message.includes('weakpw'));
    const other = await restore(backup, env, { replace: true, databaseUrl: 'mysql://trac:pw@127.0.0.1:1/trac' }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    assert.ok(other instanceof TracBackupError && other.code === 'SERVER_KIND_MISMATCH', String(other));
    assert.equal(await tickets(database), 60);
  });

  it('the bundled CLI (dist/cli.js, drivers inside): hotcopy, verify --deep and restore --database-url, never printing the password', async () => {
    const n = ++counter;
    const database = await server.createFixtureDatabase(`trac_${n}`, { role: 'clirole', password: 'Cli-Secret-3' });
    const area = path.join(tmp, `case-${n}`);
    const env = await copyServerFixture('postgres', area, 'env', server.url(database, { role: 'clirole', password: 'Cli-Secret-3' }));
    const backup = path.join(area, 'backup');
    const made = runBuiltCli(['hotcopy', env, backup, '--json']);
    assert.equal(made.code, 0, made.stderr);
    await server.admin('ALTER ROLE clirole CREATEDB');
    const verified = runBuiltCli(['verify', backup, '--deep', '--json']);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    assert.equal((JSON.parse(verified.stdout) as { database: { check: string } }).database.check, 'restored');
    await server.createFixtureDatabase(`${database}_cli`, { role: 'clirole', password: 'Cli-Secret-3', load: false });
    const url = server.url(`${database}_cli`, { role: 'clirole', password: 'Cli-Secret-3' });
    const restored = runBuiltCli(['restore', backup, path.join(area, 'restored'), '--yes', '--database-url', url, '--json']);
    assert.equal(restored.code, 0, restored.stderr);
    assert.equal(
      (JSON.parse(restored.stdout) as { serverDatabase: { display: string } }).serverDatabase.display,
      `postgres://127.0.0.1:${server.port}/${database}_cli`,
    );
    assert.equal(await tickets(`${database}_cli`), 60);
    for (const output of [made, verified, restored]) {
      assert.ok(!(output.stdout + output.stderr).includes('Cli-Secret-3'), 'no password in any output');
    }
  });

  it('a restore killed with SIGKILL at random instants leaves the old data or the new, whole; the next run says so and finishes', async () => {
    const { env, database, backup } = await backedUp();
    await server.admin("INSERT INTO public.ticket (summary, status) VALUES ('after the backup', 'new')", database);
    for (const delay of [150, 600, 1200, 2000]) {
      const child = startNode([
        path.join(__dirname, '..', '..', 'support', 'restoreChild.js'),
        JSON.stringify({ backup, environment: env, replace: true }),
      ]);
      await new Promise((resolve) => setTimeout(resolve, delay));
      child.child.kill('SIGKILL');
      await child.exited;
      // psql, if it was running, goes on by itself and commits or not, whole: wait for it.
      for (
        let tries = 0;
        tries < 100 &&
        (await server.admin(`SELECT count(*) FROM pg_stat_activity WHERE datname = '${database}' AND application_name = 'psql'`)) !== '0';
        tries++
      ) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const now = await tickets(database);
      assert.ok(now === 60 || now === 61, `whole: ${now} tickets`);
      assert.equal(await pages(database), 85);
    }
    const result = await restore(backup, env, { replace: true });
    assert.equal(await tickets(database), 60);
    const asides = (
      await server.admin("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'public_before_restore_%' ORDER BY 1", database)
    )
      .split('\n')
      .filter(Boolean);
    assert.ok(asides.length >= 1);
    assert.ok(result.serverDatabase?.aside);
    await attachmentsAgree(env, database);
  });
});
