// npm run bench [-- --size=500 --runs=3 --no-drop-caches --no-xfs]: a large Trac environment
// (default 500 MB of attachments, or BENCH_SIZE_MB), cached under .cache/bench, and each of
// trac-backup's operations beside its baseline, in the same run: every row is measured `runs`
// times (runs interleaved, so that the machine's mood hits both sides alike) and shows medians
// and the ratio ours / baseline. Before each measurement: sync, and (as root) drop the page cache,
// so that no measurement pays for the previous one's writes or profits from its reads.
//
// Rows (add one: a function in ROWS, returning { name, ours, baselines, ...figures }):
// - full hotcopy while a writer process creates tickets and adds and deletes attachments, beside
//   trac-admin hotcopy's own way (Python's shutil.copytree, which copies through the kernel, under
//   Trac's write lock for the whole copy) and cp -a; the writer's longest wait for the lock;
// - incremental hotcopy after < 1 % of the data changed, beside cp -al (folders, every file a hard
//   link: the floor of any backup made of links), with the disk it newly takes;
// - restore of the full backup into a new path, beside cp -a of the same backup;
// - verify of the full backup, beside sha256sum over the same files;
// - on a loop-mounted XFS with reflink (as root): the full hotcopy again, beside cp -a there, with
//   the disk each newly takes (clones share the environment's blocks).
// Our operations run in child processes, each reporting its peak memory (maxRSS).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cache = path.join(root, '.cache', 'bench');
// bin/ sits three levels below the repository, like out/test/support, where the fixtures helper expects to be.
const bin = path.join(cache, 'bin');
const option = (name) => process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
const flag = (name) => process.argv.includes(`--${name}`);
const sizeArg = option('size');
const sizeMb = Number(sizeArg ?? process.env.BENCH_SIZE_MB ?? 500);
if (!(sizeMb > 0)) {
  throw new Error(`--size=${sizeArg}: give the size of the attachments in MB, e.g. --size=500`);
}
const runs = Number(option('runs') ?? 3);
if (!(Number.isInteger(runs) && runs >= 1)) {
  throw new Error(`--runs=${option('runs')}: give a whole number of runs, e.g. --runs=3`);
}
const isRoot = process.getuid?.() === 0;
const dropCaches = isRoot && !flag('no-drop-caches');
const withXfs = isRoot && !flag('no-xfs');

async function bundle() {
  const common = { bundle: true, platform: 'node', target: 'node22', format: 'cjs', external: ['better-sqlite3'], logLevel: 'warning' };
  await esbuild.build({
    ...common,
    entryPoints: [path.join(root, 'test/support/tracWriter.ts')],
    outfile: path.join(bin, 'tracWriter.js'),
  });
  // The database check runs in a thread whose file sits next to the bundle (see databaseCheckThread.ts).
  await esbuild.build({
    ...common,
    entryPoints: [path.join(root, 'src/core/sqlite/databaseCheckWorker.ts')],
    outfile: path.join(bin, 'databaseCheckWorker.js'),
  });
  await esbuild.build({
    ...common,
    stdin: {
      contents: [
        "export { buildLargeEnvironment } from './test/support/largeEnvironment';",
        "export { startWriter } from './test/support/writerProcess';",
        "export { hotcopy } from './src/core/backup/hotcopy';",
        "export { restore } from './src/core/restore/restore';",
        "export { verifyBackup } from './src/core/verify/verify';",
        "export { recordVerification } from './src/core/catalog/verificationStore';",
        "export { backupsDiskUsage } from './src/core/catalog/diskUsage';",
        "export { addAttachment } from './test/support/incremental';",
        "export { loadSqlite } from './src/core/sqlite/sqlite';",
      ].join('\n'),
      resolveDir: root,
      loader: 'ts',
    },
    outfile: path.join(bin, 'support.js'),
  });
  // One operation in a process of its own: its wall time and its peak memory, as JSON on stdout.
  await fs.writeFile(
    path.join(bin, 'operation.js'),
    [
      "const support = require('./support.js');",
      'const [operation, ...args] = JSON.parse(process.argv[2]);',
      '(async () => {',
      '  const started = performance.now();',
      '  const value = await support[operation](...args);',
      '  const ms = performance.now() - started;',
      '  process.stdout.write(JSON.stringify({ ms, maxRssBytes: process.resourceUsage().maxRSS * 1024, value }));',
      '  process.exit(0);',
      '})().catch((error) => { console.error(error); process.exit(1); });',
    ].join('\n'),
  );
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

/** Attachments added before each incremental backup: well under 1 % of the data. */
const CHANGED_ATTACHMENTS = 20;
const CHANGED_ATTACHMENT_BYTES = 80 * 1024;

function run(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', options.capture ? 'pipe' : 'inherit', 'inherit'] });
    let stdout = '';
    child.stdout?.on('data', (chunk) => (stdout += chunk));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`${command} ${args.join(' ')} exited with ${code}`))));
  });
}

/**
 * Before each measurement: the previous one's dirty pages written out, and (as root) the page
 * cache dropped, so that every side starts from the disk.
 */
async function settle() {
  await run('sync', []);
  if (dropCaches) {
    await fs.writeFile('/proc/sys/vm/drop_caches', '3');
  }
}

async function timed(fn) {
  await settle();
  const started = performance.now();
  const value = await fn();
  return { ms: performance.now() - started, value };
}

/** One of our operations in a child process: { ms, maxRssBytes, value }. */
async function operation(name, ...args) {
  await settle();
  const output = await run(process.execPath, [path.join(bin, 'operation.js'), JSON.stringify([name, ...args])], { capture: true });
  return JSON.parse(output);
}

/** Runs fn while the writer works; returns fn's result and the writer's summary. */
async function withWriter(support, env, fn) {
  // The previous row's writes go out before the writer starts: a sync that has hundreds of MB to
  // write stalls the writer's commits on the file system's journal, which is not our lock.
  await settle();
  const writer = await support.startWriter(
    { environment: env, database: path.join(env, 'db', 'trac.db'), pauseMs: 2 },
    path.join(bin, 'tracWriter.js'),
  );
  await new Promise((resolve) => setTimeout(resolve, 300));
  try {
    const value = await fn();
    return { ...value, writer: await writer.stop() };
  } catch (error) {
    await writer.stop();
    throw error;
  }
}

const cpA = (from, to) => run('cp', ['-a', from, to]);
const cpAl = (from, to) => run('cp', ['-al', from, to]);

/**
 * What `trac-admin hotcopy` does (trac/env.py): take the write lock (BEGIN IMMEDIATE), copy the
 * folder with shutil.copytree (copy2: sendfile, through the kernel), release. In Python, as Trac.
 */
const TRAC_ADMIN_HOTCOPY = `
import shutil, sqlite3, sys, time
env, dest = sys.argv[1], sys.argv[2]
db = sqlite3.connect(env + '/db/trac.db', timeout=10, isolation_level=None)
db.execute('BEGIN IMMEDIATE')
started = time.monotonic()
shutil.copytree(env, dest, symlinks=True)
held = time.monotonic() - started
db.execute('ROLLBACK')
print(held * 1000)
`;
const tracAdminHotcopy = async (env, dest) =>
  Number(await run('/usr/bin/python3', ['-c', TRAC_ADMIN_HOTCOPY, env, dest], { capture: true }));

/** sha256sum over every regular file of a folder (find … -exec sha256sum {} +). */
const sha256sum = (dir) => run('sh', ['-c', 'find "$1" -type f -exec sha256sum {} + > /dev/null', 'sh', dir]);

/** Bytes the last of `backups` takes that the others do not share with it (all of it for one backup). */
async function diskOf(support, backups) {
  const usage = await support.backupsDiskUsage(backups);
  return usage.backups.at(-1).uniqueBytes;
}

async function usedBytes(dir) {
  const stats = await fs.statfs(dir);
  return (stats.blocks - stats.bfree) * stats.bsize;
}

let serial = 0;
const fresh = (dir, name) => path.join(dir, `${name}-${++serial}`);

/** Full hotcopy under a writer, trac-admin hotcopy under the same writer, cp -a. */
async function fullBackupRow({ support, env, out }) {
  const ours = await withWriter(support, env.path, () => operation('hotcopy', env.path, fresh(out, 'hotcopy')));
  const tracAdmin = await withWriter(support, env.path, async () => {
    const result = await timed(() => tracAdminHotcopy(env.path, fresh(out, 'trac-admin')));
    return { ms: result.ms, lockMs: result.value };
  });
  const cp = await timed(() => cpA(env.path, fresh(out, 'cp-a')));
  return {
    name: 'full hotcopy',
    ours: { ms: ours.ms, maxRssBytes: ours.maxRssBytes, lockMs: ours.value.lockMs, writer: ours.writer },
    baselines: {
      'trac-admin hotcopy': { ms: tracAdmin.ms, lockMs: tracAdmin.lockMs, writer: tracAdmin.writer },
      'cp -a': { ms: cp.ms },
    },
    disk: await diskOf(support, [ours.value.dest]),
    keep: { full: ours.value.dest },
  };
}

/** After 20 new attachments (< 1 %), an incremental hotcopy from the full one, beside cp -al. */
async function incrementalRow({ support, env, out, kept }) {
  const stamp = Date.now();
  for (let index = 0; index < CHANGED_ATTACHMENTS; index++) {
    const content = Buffer.alloc(CHANGED_ATTACHMENT_BYTES, index);
    await support.addAttachment(env.path, String(1 + index), `bench-incremental-${stamp}-${index}.bin`, content);
  }
  const ours = await withWriter(support, env.path, () =>
    operation('hotcopy', env.path, fresh(out, 'incremental'), { linkDest: kept.full }),
  );
  const links = await timed(() => cpAl(env.path, fresh(out, 'cp-al')));
  return {
    name:
      `incremental hotcopy (${CHANGED_ATTACHMENTS} new attachments; ${ours.value.linkedFiles} files linked, ${ours.value.copiedFiles} copied` +
      `${ours.value.linkDestDamaged ? `; ${ours.value.linkDestDamaged}` : ''}${ours.value.linkFallback ? `; ${ours.value.linkFallback}` : ''})`,
    ours: { ms: ours.ms, maxRssBytes: ours.maxRssBytes, lockMs: ours.value.lockMs, writer: ours.writer },
    baselines: { 'cp -al': { ms: links.ms } },
    disk: await diskOf(support, [kept.full, ours.value.dest]),
    diskPrefix: '+',
  };
}

/** A restore of the full backup (verified first, as the CLI records it) into a new path, beside cp -a of the backup. */
async function restoreRow({ support, out, kept }) {
  const verified = await support.verifyBackup(kept.full);
  await support.recordVerification({ ...verified, backup: kept.full });
  const ours = await operation('restore', kept.full, fresh(out, 'restored'));
  const cp = await timed(() => cpA(kept.full, fresh(out, 'cp-a-backup')));
  return {
    name: 'restore into a new path',
    ours: { ms: ours.ms, maxRssBytes: ours.maxRssBytes },
    baselines: { 'cp -a of the backup': { ms: cp.ms } },
  };
}

/** verify of the full backup, beside sha256sum of its files. */
async function verifyRow({ kept }) {
  const ours = await operation('verifyBackup', kept.full);
  const sums = await timed(() => sha256sum(kept.full));
  return {
    name: 'verify',
    ours: { ms: ours.ms, maxRssBytes: ours.maxRssBytes },
    baselines: { sha256sum: { ms: sums.ms } },
  };
}

/**
 * The environment on a loop-mounted XFS with reflink (made once per bench), backed up there,
 * beside cp -a there: time and the disk each newly takes (statfs).
 */
async function xfsRow({ xfs }) {
  const before = await usedBytes(xfs.mount);
  const ours = await operation('hotcopy', xfs.env, fresh(xfs.mount, 'hotcopy'));
  const oursDisk = (await usedBytes(xfs.mount)) - before;
  const cpBefore = await usedBytes(xfs.mount);
  const cp = await timed(() => cpA(xfs.env, fresh(xfs.mount, 'cp-a')));
  const cpDisk = (await usedBytes(xfs.mount)) - cpBefore;
  await fs.rm(ours.value.dest, { recursive: true, force: true });
  return {
    name: `full hotcopy on XFS (reflink; ${ours.value.clonedFiles} of ${ours.value.files} files cloned)`,
    ours: { ms: ours.ms, maxRssBytes: ours.maxRssBytes, lockMs: ours.value.lockMs },
    baselines: { 'cp -a there': { ms: cp.ms, disk: cpDisk } },
    disk: oursDisk,
    diskShare: oursDisk / ours.value.bytes,
  };
}

const ROWS = [fullBackupRow, incrementalRow, restoreRow, verifyRow];

async function mountXfs(env) {
  const dir = path.join(os.tmpdir(), `trac-backup-bench-xfs-${process.pid}`);
  const image = `${dir}.img`;
  await fs.mkdir(dir, { recursive: true });
  const handle = await fs.open(image, 'w');
  await handle.truncate(Math.max(1024, sizeMb * 4) * 1024 * 1024);
  await handle.close();
  execFileSync('mkfs.xfs', ['-q', '-f', '-m', 'reflink=1', image]);
  execFileSync('mount', ['-o', 'loop', image, dir]);
  const xfsEnv = path.join(dir, 'env');
  await cpA(env.path, xfsEnv);
  return {
    mount: dir,
    env: xfsEnv,
    async remove() {
      execFileSync('umount', [dir]);
      await fs.rm(image, { force: true });
      await fs.rmdir(dir);
    },
  };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const seconds = (ms) => `${(ms / 1000).toFixed(2)} s`;
const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
const megabytes = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;
const range = (values, format) => (values.length > 1 ? `${format(Math.min(...values))}–${format(Math.max(...values))}` : format(values[0]));

/** The measurements of one row over the runs, as lines of the table. */
function tableLines(measured) {
  const first = measured[0];
  const lines = [];
  const of = (pick) => measured.map(pick).filter((value) => value !== undefined);
  const oursMs = of((row) => row.ours.ms);
  const writerWait = of((row) => row.ours.writer?.maxWaitMs);
  lines.push([
    `trac-backup ${first.name}`,
    seconds(median(oursMs)),
    '',
    '',
    mib(median(of((row) => row.ours.maxRssBytes)))
      .toString()
      .padStart(1),
    first.ours.lockMs !== undefined ? `${median(of((row) => row.ours.lockMs)).toFixed(1)} ms` : '',
    writerWait.length ? `${median(writerWait).toFixed(1)} ms (${range(writerWait, (v) => v.toFixed(1))})` : '',
    first.disk !== undefined
      ? `${first.diskPrefix ?? ''}${megabytes(median(of((row) => row.disk))).trim()}` +
        (first.diskShare !== undefined ? ` (${(100 * median(of((row) => row.diskShare))).toFixed(1)} % of its size)` : '')
      : '',
  ]);
  for (const baseline of Object.keys(first.baselines)) {
    const ms = of((row) => row.baselines[baseline].ms);
    const ratios = measured.map((row) => row.ours.ms / row.baselines[baseline].ms);
    const waits = of((row) => row.baselines[baseline].writer?.maxWaitMs);
    const lock = of((row) => row.baselines[baseline].lockMs);
    const disk = of((row) => row.baselines[baseline].disk);
    lines.push([
      `  beside ${baseline}`,
      seconds(median(ms)),
      `${median(ratios).toFixed(2)}×`,
      range(ratios, (v) => `${v.toFixed(2)}×`),
      '',
      lock.length ? `${median(lock).toFixed(0)} ms` : '',
      waits.length ? `${median(waits).toFixed(1)} ms` : '',
      disk.length ? megabytes(median(disk)) : '',
    ]);
  }
  return lines;
}

async function main() {
  const support = await bundle();
  const env = await environment(support);
  const out = path.join(cache, 'out');
  await fs.rm(out, { recursive: true, force: true });
  await fs.mkdir(out, { recursive: true });
  // Verifications this bench records go to a store of its own, not the user's.
  process.env.TRAC_BACKUP_STATE_DIR = await fs.mkdtemp(path.join(os.tmpdir(), 'trac-backup-bench-state-'));
  let xfs;
  const results = new Map();
  try {
    // Warm-up: a first copy reads the environment in (the measurements drop the cache anyway).
    await cpA(env.path, path.join(out, 'warm-up'));
    const idle = await withWriter(support, env.path, () => new Promise((resolve) => setTimeout(() => resolve({}), 2000)));
    const rows = [...ROWS];
    if (withXfs) {
      xfs = await mountXfs(env);
      rows.push((context) => xfsRow({ ...context, xfs }));
    }
    for (let index = 0; index < runs; index++) {
      process.stderr.write(`run ${index + 1} of ${runs}…\n`);
      const kept = {};
      for (const row of rows) {
        const measured = await row({ support, env, out, kept });
        Object.assign(kept, measured.keep);
        const list = results.get(row) ?? [];
        list.push(measured);
        results.set(row, list);
      }
      // What this run measured, as it ends: a bench stopped midway still leaves its figures.
      process.stderr.write(
        `${[...results.values()]
          .map(
            (list) =>
              `${list.at(-1).name}: ${seconds(list.at(-1).ours.ms)}, ${Object.entries(list.at(-1).baselines)
                .map(([name, value]) => `${name} ${seconds(value.ms)}`)
                .join(', ')}`,
          )
          .join('\n')}\n`,
      );
    }
    const files = (await fs.readdir(env.path, { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile()).length;
    console.log(
      `\nEnvironment: ${(env.bytes / 1024 / 1024).toFixed(0)} MB of attachments in ${env.attachments} generated attachments ` +
        `(${files} files); ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ` +
        `Node ${process.versions.node}; medians of ${runs} run${runs > 1 ? 's' : ''}` +
        `${dropCaches ? ', page cache dropped before each measurement' : ', warm page cache'}.\n` +
        `The writer alone waited at most ${idle.writer.maxWaitMs} ms for its lock.\n`,
    );
    const table = [['', 'wall time', 'ratio', 'ratio range', 'peak memory', 'lock held', "writer's longest wait", 'disk']];
    for (const row of rows) {
      table.push(...tableLines(results.get(row)));
    }
    const widths = table[0].map((_, column) => Math.max(...table.map((line) => line[column].length)));
    for (const line of table) {
      console.log(line.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join('  '));
    }
    console.log(
      '\nThe writer (a child process) creates tickets and adds/deletes attachments Trac-style with synchronous=OFF, ' +
        'so that its waits are waits for locks, not for the disk. Ratios are ours / the baseline, per run, then the median.',
    );
  } finally {
    await fs.rm(out, { recursive: true, force: true });
    await xfs?.remove();
    await fs.rm(process.env.TRAC_BACKUP_STATE_DIR, { recursive: true, force: true });
  }
}

await main();
// The PostgreSQL row (issue 12): its own throwaway server; skipped with BENCH_POSTGRES=0.
if (process.env.BENCH_POSTGRES !== '0') {
  const { postgresRow } = await import('./benchPostgres.mjs');
  console.log(`\n${(await postgresRow(root, cache)).join('\n')}`);
}
