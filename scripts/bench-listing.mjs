// node scripts/bench-listing.mjs [files backups]...: what the Environments view pays to list an
// environment's backups and total their disk use, on a first refresh and on the next one. Builds
// (cached under .cache/bench-listing) an environment of FILES files, one real backup of it, and
// BACKUPS-1 copies of that backup made of hard links (cp -al: what incremental backups share).
// Needs the compiled core: run `npx tsc -p tsconfig.test.json` first. Default: 2000 300.
import { execFileSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const out = (file) => path.join(root, 'out', 'src', 'core', file);
const catalog = require(out('catalog/backupCatalog.js'));
const diskUsage = require(out('catalog/diskUsage.js'));
const { hotcopy } = require(out('backup/hotcopy.js'));
const { copyFixture } = require(path.join(root, 'out', 'test', 'support', 'fixtures.js'));
const cache = path.join(root, '.cache', 'bench-listing');

async function backupsOf(files, backups) {
  const area = path.join(cache, `${files}-files-${backups}-backups`);
  const folder = path.join(area, 'env-backups');
  if (existsSync(path.join(area, 'done'))) return folder;
  await fs.rm(area, { recursive: true, force: true });
  await fs.mkdir(area, { recursive: true });
  const env = await copyFixture('trac-1.6-fresh', 'env', area);
  const have = Number(execFileSync('find', [env, '-type', 'f']).toString().trim().split('\n').length);
  for (let index = have; index < files; index++) {
    const dir = path.join(env, 'htdocs', 'generated', String(Math.floor(index / 100)));
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, `${index}.txt`), `file ${index}\n`.repeat(1 + (index % 7)));
  }
  const first = path.join(folder, 'env-00000');
  await hotcopy(env, first);
  for (let index = 1; index < backups; index++) {
    execFileSync('cp', ['-al', first, path.join(folder, `env-${String(index).padStart(5, '0')}`)]);
  }
  await fs.writeFile(path.join(area, 'done'), '');
  return folder;
}

async function time(fn) {
  const started = performance.now();
  const value = await fn();
  return { ms: performance.now() - started, value };
}

const args = process.argv.slice(2).map(Number);
const cases = args.length >= 2 ? Array.from({ length: args.length / 2 }, (_, i) => [args[2 * i], args[2 * i + 1]]) : [[2000, 300]];
for (const [files, backups] of cases) {
  const folder = await backupsOf(files, backups);
  execFileSync('sync');
  const line = [`${backups} backups of ${files} files:`];
  const cached = diskUsage.DiskUsageCache ? new diskUsage.DiskUsageCache() : undefined;
  for (const refresh of ['first', 'second']) {
    const listed = await time(() => catalog.listBackups(folder));
    const usage = await time(() =>
      cached ? cached.usage(listed.value) : diskUsage.backupsDiskUsage(listed.value.map((backup) => backup.path)),
    );
    line.push(
      `${refresh} refresh: list ${(listed.ms / 1000).toFixed(2)} s, disk use ${(usage.ms / 1000).toFixed(2)} s` +
        ` (${usage.value.totalBytes} bytes${cached ? `, ${cached.walked} backups walked so far` : ''})`,
    );
  }
  console.log(line.join('\n  '));
}
