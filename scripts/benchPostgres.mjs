// The PostgreSQL row of npm run bench: a throwaway PostgreSQL 15 server (as the tests start one),
// an environment of a few thousand tickets and attachments on it, backed up while a Trac-like
// writer adds tickets and adds and deletes attachments. Prints the backup's wall time beside
// pg_dump alone plus cp -a of the folder, and the writers' longest transactions during it.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as esbuild from 'esbuild';

const TICKETS = 3000;
const ATTACHMENTS = 3000;

function run(command, args, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: 'inherit', env: { ...process.env, ...env } });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited with ${code}`))));
  });
}

async function bundle(root, bin) {
  const common = { bundle: true, platform: 'node', target: 'node22', format: 'cjs', external: ['better-sqlite3'], logLevel: 'warning' };
  // bin/ sits three levels below the repository, as out/test/support does, where the fixtures helper looks.
  await esbuild.build({
    ...common,
    entryPoints: [path.join(root, 'test/support/serverWriter.ts')],
    outfile: path.join(bin, 'serverWriter.js'),
  });
  await esbuild.build({
    ...common,
    stdin: {
      contents: [
        "export { startPostgres, copyServerFixture } from './test/support/dbServers';",
        "export { hotcopy } from './src/core/backup/hotcopy';",
        "export { attachmentRelativePath } from './src/core/trac/attachments';",
      ].join('\n'),
      resolveDir: root,
      loader: 'ts',
    },
    outfile: path.join(bin, 'pgSupport.js'),
  });
  return createRequire(import.meta.url)(path.join(bin, 'pgSupport.js'));
}

/** Runs the row; returns its lines. `cache` is the bench's .cache/bench. */
export async function postgresRow(root, cache) {
  const bin = path.join(cache, 'bin');
  const support = await bundle(root, bin);
  const server = await support.startPostgres();
  const work = path.join(cache, 'pg-out');
  await fs.rm(work, { recursive: true, force: true });
  await fs.mkdir(work, { recursive: true });
  try {
    const database = await server.createFixtureDatabase('trac_bench');
    const env = await support.copyServerFixture('postgres', work, 'env', server.url(database));
    await server.admin(
      `INSERT INTO public.ticket (type, time, changetime, summary, status, reporter) ` +
        `SELECT 'defect', 1700000000000000 + n, 1700000000000000 + n, 'bench ticket ' || n, 'new', 'bench' FROM generate_series(1, ${TICKETS}) n`,
      database,
    );
    for (let n = 0; n < ATTACHMENTS; n++) {
      const ticket = String(61 + (n % TICKETS));
      const filename = `bench-${n}.bin`;
      const file = path.join(env, ...support.attachmentRelativePath('ticket', ticket, filename).split('/'));
      mkdirSync(path.dirname(file), { recursive: true });
      const size = 4096 + (n % 64) * 1024;
      writeFileSync(file, Buffer.alloc(size, n % 251));
    }
    await server.admin(
      `INSERT INTO public.attachment (type, id, filename, size, time, description, author) ` +
        `SELECT 'ticket', (61 + n % ${TICKETS})::text, 'bench-' || n || '.bin', 4096 + (n % 64) * 1024, 1700000000000000, 'bench', 'bench' ` +
        `FROM generate_series(0, ${ATTACHMENTS - 1}) n`,
      database,
    );
    const dumpStarted = performance.now();
    await run(
      'pg_dump',
      [
        '-Fc',
        '-n',
        'public',
        '-h',
        '127.0.0.1',
        '-p',
        String(server.port),
        '-U',
        'trac',
        '-w',
        '-f',
        path.join(work, 'alone.pgdump'),
        database,
      ],
      {
        PGPASSWORD: 'trac',
      },
    );
    await run('cp', ['-a', env, path.join(work, 'cp-a')]);
    const aloneMs = performance.now() - dumpStarted;
    const writerScript = path.join(bin, 'serverWriter.js');
    const writer = spawn(process.execPath, [writerScript, JSON.stringify({ url: server.url(database), env })], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let output = '';
    writer.stdout.setEncoding('utf8').on('data', (text) => (output += text));
    while (!output.includes('"started"')) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = performance.now();
    const result = await support.hotcopy(env, path.join(work, 'backup'));
    const oursMs = performance.now() - started;
    writer.stdin.end('stop\n');
    await new Promise((resolve) => writer.on('close', resolve));
    const summary = JSON.parse(output.split('\n').find((line) => line.includes('"summary"')));
    const s = (ms) => `${(ms / 1000).toFixed(2)} s`;
    return [
      `PostgreSQL 15 (${TICKETS + 60} tickets, ${ATTACHMENTS + 40} attachments, ${(result.bytes / 1024 / 1024).toFixed(1)} MB):`,
      `  trac-backup hotcopy under a writer     ${s(oursMs)}  (attachments held ${result.lockMs} ms)`,
      `  pg_dump -Fc alone + cp -a of the folder ${s(aloneMs)}`,
      `  writer's longest ticket transaction ${summary.maxTicketMs.toFixed(1)} ms, attachment transaction ${summary.maxAttachmentMs.toFixed(1)} ms ` +
        `(${summary.tickets} tickets, ${summary.attachmentsAdded} attachments added, ${summary.attachmentsDeleted} deleted during the backup)`,
    ];
  } finally {
    await server.stop();
    await fs.rm(work, { recursive: true, force: true });
  }
}
