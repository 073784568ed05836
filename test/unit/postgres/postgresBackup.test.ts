import * as assert from 'node:assert/strict';
import { promises as fs, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { MANIFEST_FILE, readManifest as readManifestOrNone } from '../../../src/core/catalog/manifest';
import { attachmentRelativePath } from '../../../src/core/trac/attachments';
import { TracBackupError } from '../../../src/core/shared/errors';
import { readEnvironmentDetails } from '../../../src/core/trac/environmentDetails';
import { readEnvironment } from '../../../src/core/trac/environment';
import { makeTempDir, removeTempDir } from '../../support/fixtures';
import { PostgresServer, copyServerFixture, pipeInto, startPostgres } from '../../support/dbServers';
import { startServerWriter } from '../../support/serverWriterProcess';

async function readManifest(backup: string) {
  const manifest = await readManifestOrNone(backup);
  assert.ok(manifest, `${backup} has its metadata`);
  return manifest;
}

/** Every file of a tree, as text (binary files too, as latin1): to look for a secret in it. */
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

/** The attachment rows of a pg_dump custom-format file, restored into a new database `scratch`. */
async function rowsOfDump(
  server: PostgresServer,
  dump: string,
  scratch: string,
  schema = 'public',
): Promise<Array<{ type: string; id: string; filename: string }>> {
  await server.admin(`CREATE DATABASE "${scratch}" TEMPLATE template0 ENCODING 'UTF8'`);
  await pipeInto(
    'pg_restore',
    [
      '-h',
      '127.0.0.1',
      '-p',
      String(server.port),
      '-U',
      'admin',
      '-d',
      scratch,
      '--no-owner',
      '--exit-on-error',
      '--clean',
      '--if-exists',
      dump,
    ],
    '',
    {
      PGPASSWORD: server.adminPassword,
    },
  );
  const out = await server.admin(`SELECT type || '|' || id || '|' || filename FROM "${schema}".attachment`, scratch);
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [type, id, filename] = line.split('|');
      return { type, id, filename };
    });
}

describe('hot backup of a PostgreSQL environment (a real PostgreSQL 15 server)', () => {
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

  async function environment(options: { socket?: boolean; schema?: string; password?: string; role?: string } = {}) {
    const n = ++counter;
    const database = await server.createFixtureDatabase(`trac_${n}`, options);
    const area = path.join(tmp, `case-${n}`);
    await fs.mkdir(area);
    const env = await copyServerFixture('postgres', area, 'env', server.url(database, options));
    return { env, database, area };
  }

  it('dumps the database into db/ with its size and SHA-256 in the metadata, the server recorded without the password', async () => {
    const { env, area, database } = await environment({ role: 'tracsecret', password: 'S3cret-Pw!x' });
    const result = await hotcopy(env, path.join(area, 'backup'));
    const manifest = await readManifest(result.dest);
    assert.equal(manifest.database.kind, 'postgres');
    assert.equal(manifest.database.included, true);
    assert.equal(manifest.database.path, `db/${database}.pgdump`);
    assert.equal(manifest.database.version, '45');
    assert.equal(manifest.database.server?.database, database);
    assert.equal(manifest.database.server?.port, server.port);
    assert.equal(manifest.database.server?.schema, 'public');
    assert.match(manifest.database.server?.serverVersion ?? '', /^15\./);
    const entry = manifest.entries.find((candidate) => candidate.path === `db/${database}.pgdump`);
    assert.ok(entry && entry.type === 'file' && /^[0-9a-f]{64}$/.test(entry.sha256 ?? ''), 'the dump is hashed');
    const dump = path.join(result.dest, 'db', `${database}.pgdump`);
    assert.equal(entry.type === 'file' && entry.size, (await fs.stat(dump)).size);
    assert.equal((await fs.readFile(dump)).subarray(0, 5).toString(), 'PGDMP');
    const manifestText = await fs.readFile(path.join(result.dest, MANIFEST_FILE), 'utf8');
    assert.ok(
      !manifestText.includes('S3cret-Pw!x') && !manifestText.includes(encodeURIComponent('S3cret-Pw!x')),
      'no password in the metadata',
    );
    assert.ok(!JSON.stringify(result).includes('S3cret-Pw!x'), 'nor in the result');
    // The backup's trac.ini is the environment's own (it holds the URL, as the environment's does); nothing else holds it.
    const tree = (await allText(result.dest)).replace(await fs.readFile(path.join(result.dest, 'conf', 'trac.ini'), 'latin1'), '');
    assert.ok(!tree.includes('S3cret-Pw!x'), 'no password in the backup but its trac.ini');
    // Every attachment row of the dump has its file in the backup.
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
    const dump = path.join(result.dest, 'db', `${database}.pgdump`);
    const rows = await rowsOfDump(server, dump, `${database}_check`);
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
      `PostgreSQL: attachment writer's longest transaction ${summary.maxAttachmentMs.toFixed(1)} ms, ticket writer's ${summary.maxTicketMs.toFixed(1)} ms, ` +
        `attachments held ${result.lockMs} ms; ${summary.attachmentsAdded} added, ${summary.attachmentsDeleted} deleted, ${summary.tickets} tickets`,
    );
  });

  it('backs up over a unix socket with a port (trac-admin hotcopy drops the port there), and a ?schema= environment', async () => {
    const socket = await environment({ socket: true });
    const bySocket = await hotcopy(socket.env, path.join(socket.area, 'backup'));
    assert.equal((await readManifest(bySocket.dest)).database.server?.socket, server.socketDir);
    const schema = await environment({ schema: 'tracschema' });
    const bySchema = await hotcopy(schema.env, path.join(schema.area, 'backup'));
    const manifest = await readManifest(bySchema.dest);
    assert.equal(manifest.database.server?.schema, 'tracschema');
    assert.equal(manifest.database.version, '45');
    const rows = await rowsOfDump(
      server,
      path.join(bySchema.dest, 'db', `${schema.database}.pgdump`),
      `${schema.database}_check`,
      'tracschema',
    );
    assert.equal(rows.length, 40);
  });

  it('passes the password to pg_dump in its environment only: never in its argv, seen by every process', async () => {
    const { env, area, database } = await environment({ role: 'argvrole', password: 'Argv-Secret-77' });
    const record = path.join(area, 'argv.txt');
    const wrapper = path.join(area, 'pg_dump');
    await fs.writeFile(
      wrapper,
      `#!/bin/sh\nprintf '%s\\n' "$*" >> '${record}'\nprintf 'PGPASSWORD=%s\\n' "\${PGPASSWORD:+set}" >> '${record}'\nexec pg_dump "$@"\n`,
      { mode: 0o755 },
    );
    const ini = path.join(env, 'conf', 'trac.ini');
    await fs.writeFile(ini, (await fs.readFile(ini, 'utf8')).replace(/^pg_dump_path = .*$/m, `pg_dump_path = ${wrapper}`));
    const seen: string[] = [];
    let scanning = true;
    const scan = (async () => {
      while (scanning) {
        for (const pid of await fs.readdir('/proc')) {
          if (/^\d+$/.test(pid)) {
            const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'latin1').catch(() => '');
            if (cmdline) seen.push(cmdline.split('\0').join(' '));
          }
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    try {
      await hotcopy(env, path.join(area, 'backup'));
    } finally {
      scanning = false;
      await scan;
    }
    const recorded = await fs.readFile(record, 'utf8');
    assert.match(recorded, /--snapshot=/);
    assert.match(recorded, /PGPASSWORD=set/);
    assert.ok(!recorded.includes('Argv-Secret-77'), `pg_dump's argv holds no password: ${recorded}`);
    assert.ok(seen.length > 0);
    assert.ok(!seen.some((line) => line.includes('Argv-Secret-77')), 'no process had the password in its argv');
    void database;
  });

  it('the tree row: server and database, size, database_version, reachable; a dead server says why, quickly, without the password', async () => {
    const { env } = await environment({ role: 'rowrole', password: 'Row-Pw-5' });
    const details = await readEnvironmentDetails(await readEnvironment(env));
    assert.equal(details.server?.reachable, true, details.server?.error);
    assert.equal(details.server?.version, '45');
    assert.equal(details.server?.tickets, 60);
    assert.equal(details.server?.wikiPages, 85);
    assert.ok((details.server?.bytes ?? 0) > 0);
    assert.equal(details.server?.display, `postgres://127.0.0.1:${server.port}/trac_${counter}`);
    const ini = path.join(env, 'conf', 'trac.ini');
    await fs.writeFile(ini, (await fs.readFile(ini, 'utf8')).replace(`:${server.port}/`, ':1/'));
    const started = performance.now();
    const dead = await readEnvironmentDetails(await readEnvironment(env));
    assert.ok(performance.now() - started < 10000, 'a dead server is said quickly');
    assert.equal(dead.server?.reachable, false);
    assert.match(dead.server?.error ?? '', /Can't reach the PostgreSQL server/);
    assert.ok(!JSON.stringify(dead).includes('Row-Pw-5') && !JSON.stringify(details).includes('Row-Pw-5'));
  });

  it('says what is wrong: wrong password, database missing, server down, dump tool missing or too old; never the password', async () => {
    const { env, area } = await environment({ role: 'errrole', password: 'Right-Pw-1' });
    const ini = path.join(env, 'conf', 'trac.ini');
    const original = await fs.readFile(ini, 'utf8');
    const attempt = async (text: string, code: string, pattern: RegExp) => {
      await fs.writeFile(ini, text);
      const error = await hotcopy(env, path.join(area, `backup-${code}-${++counter}`)).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      assert.ok(error instanceof TracBackupError, `${code}: ${String(error)}`);
      assert.equal(error.code, code, error.message);
      assert.match(error.message, pattern);
      assert.ok(!error.message.includes('Wrong-Pw-2') && !error.message.includes('Right-Pw-1'), error.message);
      assert.deepEqual(
        (await fs.readdir(area)).filter((name) => name.startsWith('backup-')),
        [],
        'nothing is left under a backup name',
      );
    };
    await attempt(original.replace('Right-Pw-1', 'Wrong-Pw-2'), 'SERVER_LOGIN_FAILED', /refused the login of errrole/);
    await attempt(original.replace(/\/trac_\d+$/m, '/no_such_db'), 'SERVER_DATABASE_MISSING', /no_such_db does not exist/);
    await attempt(original.replace(`:${server.port}/`, ':1/'), 'SERVER_UNREACHABLE', /Can't reach the PostgreSQL server 127\.0\.0\.1:1/);
    await attempt(
      original.replace(/^pg_dump_path = .*$/m, 'pg_dump_path = /nonexistent/pg_dump'),
      'DUMP_TOOL_MISSING',
      /apt-get install postgresql-client.*brew install libpq/,
    );
    const old = path.join(area, 'old_pg_dump');
    await fs.writeFile(old, `#!/bin/sh\n[ "$1" = --version ] && { echo 'pg_dump (PostgreSQL) 14.9'; exit 0; }\nexec pg_dump "$@"\n`, {
      mode: 0o755,
    });
    await attempt(
      original.replace(/^pg_dump_path = .*$/m, `pg_dump_path = ${old}`),
      'DUMP_TOOL_TOO_OLD',
      /version 14, older than the PostgreSQL server \(15\)/,
    );
    await fs.writeFile(ini, original);
  });
});
