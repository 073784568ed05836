import * as assert from 'node:assert/strict';
import { promises as fs, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { MANIFEST_FILE, readManifest as readManifestOrNone } from '../../../src/core/catalog/manifest';
import { attachmentRelativePath } from '../../../src/core/trac/attachments';
import { TracBackupError } from '../../../src/core/shared/errors';
import { makeTempDir, removeTempDir } from '../../support/fixtures';
import { MariadbServer, copyServerFixture, pipeInto, startMariadb } from '../../support/dbServers';
import { startServerWriter } from '../../support/serverWriterProcess';

async function readManifest(backup: string) {
  const manifest = await readManifestOrNone(backup);
  assert.ok(manifest, `${backup} has its metadata`);
  return manifest;
}

async function allText(root: string): Promise<string> {
  const parts: string[] = [];
  for (const name of readdirSync(root, { recursive: true }).map(String)) {
    const file = path.join(root, name);
    if ((await fs.stat(file)).isFile()) {
      parts.push(name, readFileSync(file).toString('latin1'));
    }
  }
  return parts.join('\n');
}

/** The attachment rows of an SQL dump, loaded into a new database `scratch`. */
async function rowsOfDump(
  server: MariadbServer,
  dump: string,
  scratch: string,
): Promise<Array<{ type: string; id: string; filename: string }>> {
  await server.root(`CREATE DATABASE \`${scratch}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  await server.root(await fs.readFile(dump, 'utf8'), scratch);
  const out = await server.root(`SELECT CONCAT(type, '|', id, '|', filename) FROM attachment`, scratch);
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [type, id, filename] = line.split('|');
      return { type, id, filename };
    });
}

describe('hot backup of a MySQL/MariaDB environment (a real MariaDB 10.11 server)', () => {
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

  async function environment(options: { socket?: boolean; password?: string; user?: string } = {}) {
    const n = ++counter;
    const database = await server.createFixtureDatabase(`trac_${n}`, options);
    const area = path.join(tmp, `case-${n}`);
    await fs.mkdir(area);
    const env = await copyServerFixture('mysql', area, 'env', server.url(database, options));
    return { env, database, area };
  }

  it('dumps the database into db/<database>.sql, hashed, the server recorded without the password', async () => {
    const { env, area, database } = await environment({ user: 'tracsecret', password: 'My-S3cret-Pw' });
    const result = await hotcopy(env, path.join(area, 'backup'));
    const manifest = await readManifest(result.dest);
    assert.equal(manifest.database.kind, 'mysql');
    assert.equal(manifest.database.path, `db/${database}.sql`);
    assert.equal(manifest.database.version, '45');
    assert.equal(manifest.database.server?.port, server.port);
    assert.match(manifest.database.server?.serverVersion ?? '', /10\.11.*MariaDB/);
    const entry = manifest.entries.find((candidate) => candidate.path === `db/${database}.sql`);
    assert.ok(entry && entry.type === 'file' && /^[0-9a-f]{64}$/.test(entry.sha256 ?? ''));
    const dump = path.join(result.dest, 'db', `${database}.sql`);
    const text = await fs.readFile(dump, 'utf8');
    assert.match(text, /-- Dump completed/);
    assert.doesNotMatch(text, /LOCK TABLES/, 'the dump takes no table locks when loaded');
    assert.ok(!(await fs.readFile(path.join(result.dest, MANIFEST_FILE), 'utf8')).includes('My-S3cret-Pw'));
    const tree = (await allText(result.dest)).replace(await fs.readFile(path.join(result.dest, 'conf', 'trac.ini'), 'latin1'), '');
    assert.ok(!tree.includes('My-S3cret-Pw'), 'no password in the backup but its trac.ini');
    const rows = await rowsOfDump(server, dump, `${database}_check`);
    assert.equal(rows.length, 40);
    for (const row of rows) {
      await fs.access(path.join(result.dest, ...attachmentRelativePath(row.type, row.id, row.filename).split('/')));
    }
  });

  it('agrees with the attachments while a Trac-like writer adds and deletes them; ticket writers go on', async () => {
    const { env, area, database } = await environment();
    const writer = await startServerWriter({ url: server.url(database), env });
    let result: Awaited<ReturnType<typeof hotcopy>>;
    let summary: Awaited<ReturnType<typeof writer.stop>>;
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      result = await hotcopy(env, path.join(area, 'backup'));
    } finally {
      summary = await writer.stop();
    }
    assert.ok(summary.attachmentsAdded > 0 && summary.attachmentsDeleted > 0, 'the writer wrote during the backup');
    const rows = await rowsOfDump(server, path.join(result.dest, 'db', `${database}.sql`), `${database}_check`);
    const expected = new Set(rows.map((row) => attachmentRelativePath(row.type, row.id, row.filename)));
    const inBackup = (await fs.readdir(path.join(result.dest, 'files', 'attachments'), { recursive: true, withFileTypes: true }))
      .filter((entry) => entry.isFile())
      .map((entry) => path.relative(result.dest, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'));
    for (const file of expected) {
      assert.ok(inBackup.includes(file), `the file of row ${file} is in the backup`);
    }
    for (const file of inBackup) {
      assert.ok(expected.has(file), `${file} in the backup has its row in the dump`);
    }
    console.log(
      `MariaDB: attachment writer's longest transaction ${summary.maxAttachmentMs.toFixed(1)} ms, ticket writer's ${summary.maxTicketMs.toFixed(1)} ms, ` +
        `attachments held ${result.lockMs} ms; ${summary.attachmentsAdded} added, ${summary.attachmentsDeleted} deleted, ${summary.tickets} tickets`,
    );
  });

  it('does not hang where trac-admin hotcopy does: another connection holds a transaction open on the database', async () => {
    const { env, area, database } = await environment({ socket: true });
    // trac-admin hotcopy holds `UPDATE system SET name=NULL WHERE name IS NULL` open while mysqldump's
    // default LOCK TABLES waits for it (lock_wait_timeout: a day). Hold the same transaction open here.
    const holder = pipeInto(
      'mariadb',
      ['--no-defaults', `--socket=${server.socket}`, '-utrac', database],
      'START TRANSACTION; UPDATE `system` SET name = NULL WHERE name IS NULL; SELECT SLEEP(60); COMMIT;',
      { MYSQL_PWD: 'trac' },
    ).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = performance.now();
    const result = await Promise.race([
      hotcopy(env, path.join(area, 'backup')),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the backup hung behind the open transaction')), 40000)),
    ]);
    assert.ok(performance.now() - started < 40000);
    assert.equal((await readManifest(result.dest)).database.server?.socket, server.socket);
    await server
      .root(`KILL (SELECT id FROM information_schema.processlist WHERE info LIKE 'SELECT SLEEP(60)%' LIMIT 1)`)
      .catch(async () => {
        const id = await server.root("SELECT id FROM information_schema.processlist WHERE info LIKE 'SELECT SLEEP(60)%'");
        if (id) await server.root(`KILL ${id.split('\n')[0]}`);
      });
    await holder;
  });

  it('passes the password in MYSQL_PWD only, never in argv; errors name what is wrong without it', async () => {
    const { env, area } = await environment({ user: 'argvuser', password: 'My-Argv-Pw-9' });
    const record = path.join(area, 'argv.txt');
    const wrapper = path.join(area, 'mysqldump');
    await fs.writeFile(
      wrapper,
      `#!/bin/sh\nprintf '%s\\n' "$*" >> '${record}'\nprintf 'MYSQL_PWD=%s\\n' "\${MYSQL_PWD:+set}" >> '${record}'\nexec mariadb-dump "$@"\n`,
      {
        mode: 0o755,
      },
    );
    const ini = path.join(env, 'conf', 'trac.ini');
    const original = await fs.readFile(ini, 'utf8');
    await fs.writeFile(ini, original.replace(/^mysqldump_path = .*$/m, `mysqldump_path = ${wrapper}`));
    await hotcopy(env, path.join(area, 'backup'));
    const recorded = await fs.readFile(record, 'utf8');
    assert.match(recorded, /^--no-defaults .*--single-transaction --skip-lock-tables --skip-add-locks/m);
    assert.match(recorded, /MYSQL_PWD=set/);
    // Started before the lock, through the gate that holds its START TRANSACTION until the attachments are locked.
    assert.match(recorded, /--protocol=socket --socket=\S*trac-backup-gate-/);
    assert.ok(!recorded.includes('My-Argv-Pw-9'), recorded);
    const attempt = async (text: string, code: string, pattern: RegExp) => {
      await fs.writeFile(ini, text);
      const error = await hotcopy(env, path.join(area, `backup-${code}`)).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      assert.ok(error instanceof TracBackupError, `${code}: ${String(error)}`);
      assert.equal(error.code, code, error.message);
      assert.match(error.message, pattern);
      assert.ok(!error.message.includes('My-Argv-Pw-9') && !error.message.includes('Wrong-Pw'), error.message);
    };
    await attempt(original.replace('My-Argv-Pw-9', 'Wrong-Pw'), 'SERVER_LOGIN_FAILED', /refused the login of argvuser/);
    await attempt(
      original.replace(`:${server.port}/`, ':1/'),
      'SERVER_UNREACHABLE',
      /Can't reach the MySQL\/MariaDB server 127\.0\.0\.1:1/,
    );
    await attempt(
      original.replace(/^mysqldump_path = .*$/m, 'mysqldump_path = /nonexistent/mysqldump'),
      'DUMP_TOOL_MISSING',
      /apt-get install mariadb-client/,
    );
    await fs.writeFile(ini, original);
  });
});
