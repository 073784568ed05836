// npm run bench [-- --size=500]: a large Trac environment (default 500 MB of attachments, or
// BENCH_SIZE_MB), cached under .cache/bench, backed up while a writer process creates tickets
// and adds and deletes attachments. Prints, side by side: cp -a of the folder, our hotcopy, and
// a trac-admin-style hotcopy (Trac's write lock held for the whole copy), with the writer's
// longest wait for the database lock during each; then, after a change of less than 1 % of the
// data, an incremental hotcopy linked from the full one, with the disk it newly takes, beside
// cp -al (the same folders, every file a hard link: the floor for any link-dest backup).
import { spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cache = path.join(root, '.cache', 'bench');
// bin/ sits three levels below the repository, like out/test/support, where the fixtures helper expects to be.
const bin = path.join(cache, 'bin');
const sizeArg = process.argv.find((arg) => arg.startsWith('--size='))?.slice('--size='.length);
const sizeMb = Number(sizeArg ?? process.env.BENCH_SIZE_MB ?? 500);
if (!(sizeMb > 0)) {
  throw new Error(`--size=${sizeArg}: give the size of the attachments in MB, e.g. --size=500`);
}

async function bundle() {
  const common = { bundle: true, platform: 'node', target: 'node22', format: 'cjs', external: ['better-sqlite3'], logLevel: 'warning' };
  await esbuild.build({
    ...common,
    entryPoints: [path.join(root, 'test/support/tracWriter.ts')],
    outfile: path.join(bin, 'tracWriter.js'),
  });
  await esbuild.build({
    ...common,
    stdin: {
      contents: [
        "export { buildLargeEnvironment } from './test/support/largeEnvironment';",
        "export { startWriter } from './test/support/writerProcess';",
        "export { hotcopy } from './src/core/backup/hotcopy';",
        "export { backupsDiskUsage } from './src/core/catalog/diskUsage';",
        "export { addAttachment } from './test/support/incremental';",
        "export { loadSqlite } from './src/core/sqlite/sqlite';",
      ].join('\n'),
      resolveDir: root,
      loader: 'ts',
    },
    outfile: path.join(bin, 'support.js'),
  });
  return createRequire(import.meta.url)(path.join(bin, 'support.js'));
}

async function environment(support) {
  const name = `env-${sizeMb}mb`;
  const env = path.join(cache, name);
  const marker = `${env}.json`;
  if (existsSync(marker) && existsSync(env)) {
    return { path: env, ...JSON.parse(await fs.readFile(marker, 'utf8')) };
  }
  await fs.rm(env, { recursive: true, force: true });
  process.stderr.write(`Building a ${sizeMb} MB environment in ${path.relative(root, env)} (cached for next time)…\n`);
  const built = await support.buildLargeEnvironment(cache, name, {
    attachmentBytes: sizeMb * 1024 * 1024,
    averageBytes: 80 * 1024,
    tickets: 2000,
  });
  await fs.writeFile(marker, JSON.stringify({ attachments: built.attachments, bytes: built.bytes }));
  return built;
}

const seconds = (ms) => `${(ms / 1000).toFixed(2)} s`;
const megabytes = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
/** Attachments added between the full and the incremental backup: well under 1 % of the data. */
const CHANGED_ATTACHMENTS = 20;
const CHANGED_ATTACHMENT_BYTES = 80 * 1024;

async function timed(fn) {
  const started = performance.now();
  const value = await fn();
  return { ms: performance.now() - started, value };
}

function run(command, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited with ${code}`))));
  });
}

const cpA = (from, to) => run('cp', ['-a', from, to]);
/** A copy made of hard links (folders created, every file linked): the floor for any link-dest backup. */
const cpAl = (from, to) => run('cp', ['-al', from, to]);
/**
 * Writes the previous row's dirty pages out before the next row starts, so that each row pays
 * for its own writes and not for the write-back of the one before.
 */
const settle = () => run('sync', []);

/** Runs fn while the writer works; returns fn's timing and the writer's summary. */
async function withWriter(support, env, fn) {
  const writer = await support.startWriter(
    { environment: env, database: path.join(env, 'db', 'trac.db'), pauseMs: 2 },
    path.join(bin, 'tracWriter.js'),
  );
  await new Promise((resolve) => setTimeout(resolve, 300));
  try {
    const result = await timed(fn);
    return { ...result, writer: await writer.stop() };
  } catch (error) {
    await writer.stop();
    throw error;
  }
}

async function main() {
  const support = await bundle();
  const env = await environment(support);
  const out = path.join(cache, 'out');
  await fs.rm(out, { recursive: true, force: true });
  await fs.mkdir(out, { recursive: true });
  const rows = [];
  try {
    // Warm the page cache, so that the first measurement does not pay for reading the disk.
    await cpA(env.path, path.join(out, 'warm-up'));

    await settle();
    const idle = await withWriter(support, env.path, () => new Promise((resolve) => setTimeout(resolve, 2000)));
    rows.push(['writer alone (2 s)', '', '', idle.writer]);

    await settle();
    const cp = await timed(() => cpA(env.path, path.join(out, 'cp-a')));
    rows.push(['cp -a', seconds(cp.ms), '', undefined]);

    await settle();
    const ours = await withWriter(support, env.path, () => support.hotcopy(env.path, path.join(out, 'hotcopy')));
    rows.push([
      'trac-backup hotcopy',
      seconds(ours.ms),
      `${ours.value.lockMs} ms`,
      ours.writer,
      megabytes(await diskOf(support, [ours.value.dest])),
    ]);

    const stamp = Date.now();
    for (let index = 0; index < CHANGED_ATTACHMENTS; index++) {
      const content = Buffer.alloc(CHANGED_ATTACHMENT_BYTES, index);
      await support.addAttachment(env.path, String(1 + index), `bench-incremental-${stamp}-${index}.bin`, content);
    }
    await settle();
    const linkCopy = await timed(() => cpAl(env.path, path.join(out, 'cp-al')));
    rows.push(['cp -al (hard links)', seconds(linkCopy.ms), '', undefined]);

    await settle();
    const incremental = await withWriter(support, env.path, () =>
      support.hotcopy(env.path, path.join(out, 'hotcopy-incremental'), { linkDest: ours.value.dest }),
    );
    const newDisk = await diskOf(support, [ours.value.dest, incremental.value.dest]);
    rows.push([
      'trac-backup hotcopy, incremental',
      seconds(incremental.ms),
      `${incremental.value.lockMs} ms`,
      incremental.writer,
      `+${megabytes(newDisk)}`,
    ]);

    await settle();
    const tracAdmin = await withWriter(support, env.path, async () => {
      // What trac-admin hotcopy does: take the write lock, copy the whole folder, release.
      const db = new (support.loadSqlite())(path.join(env.path, 'db', 'trac.db'), { timeout: 10_000 });
      try {
        db.exec('BEGIN IMMEDIATE');
        const started = performance.now();
        await cpA(env.path, path.join(out, 'trac-admin-style'));
        db.exec('ROLLBACK');
        return performance.now() - started;
      } finally {
        db.close();
      }
    });
    rows.push(['trac-admin-style hotcopy', seconds(tracAdmin.ms), `${Math.round(tracAdmin.value)} ms`, tracAdmin.writer]);

    const files = ours.value.files;
    console.log(
      `\nEnvironment: ${(env.bytes / 1024 / 1024).toFixed(0)} MB of attachments in ${env.attachments} generated ` +
        `attachments (backup: ${files} files, ${(ours.value.bytes / 1024 / 1024).toFixed(0)} MB); Node ${process.versions.node}.\n`,
    );
    const table = [
      ['', 'wall time', 'lock held', 'writer: writes', 'longest wait (lock)', 'longest BEGIN', 'disk'],
      ...rows.map(([name, wall, lock, writer, disk]) => [
        name,
        wall,
        lock,
        writer ? String(writer.writes) : '',
        writer ? `${writer.maxWaitMs} ms` : '',
        writer ? `${writer.maxBeginWaitMs} ms` : '',
        disk ?? '',
      ]),
    ];
    const widths = table[0].map((_, column) => Math.max(...table.map((row) => row[column].length)));
    for (const row of table) {
      console.log(row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join('  '));
    }
    const fullDisk = await diskOf(support, [ours.value.dest]);
    console.log(
      `\nIncremental, after ${CHANGED_ATTACHMENTS} attachments (${megabytes(CHANGED_ATTACHMENTS * CHANGED_ATTACHMENT_BYTES)}, ` +
        `${((100 * CHANGED_ATTACHMENTS * CHANGED_ATTACHMENT_BYTES) / env.bytes).toFixed(2)} % of the data) were added: ` +
        `${incremental.value.linkedFiles} files linked, ${incremental.value.copiedFiles} copied; ` +
        `${((100 * incremental.ms) / ours.ms).toFixed(1)} % of the full backup's time (target ≤ 10 %; ` +
        `cp -al, which only makes the folders and links, took ${((100 * linkCopy.ms) / ours.ms).toFixed(1)} %), ` +
        `${((100 * newDisk) / fullDisk).toFixed(2)} % of its disk (target ≤ 5 %).` +
        (incremental.value.linkFallback ? ` Note: ${incremental.value.linkFallback}.` : ''),
    );
    console.log(
      '\nThe writer (a child process) creates tickets and adds/deletes attachments Trac-style with synchronous=OFF, ' +
        'so that its waits are waits for locks, not for the disk.',
    );
  } finally {
    await fs.rm(out, { recursive: true, force: true });
  }
}

/** Bytes the last of `backups` takes that the others do not share with it (all of it for one backup). */
async function diskOf(support, backups) {
  const usage = await support.backupsDiskUsage(backups);
  return usage.backups.at(-1).uniqueBytes;
}

await main();
// The PostgreSQL row (issue 12): its own throwaway server; skipped with BENCH_POSTGRES=0.
if (process.env.BENCH_POSTGRES !== '0') {
  const { postgresRow } = await import('./benchPostgres.mjs');
  console.log(`\n${(await postgresRow(root, cache)).join('\n')}`);
}
