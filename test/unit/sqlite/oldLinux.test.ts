// The CLI on an old Linux for real: a Debian 11 root file system (glibc 2.31, where
// better-sqlite3's prebuilt binary needs GLIBC_2.33) made once with debootstrap and cached under
// .cache/rootfs (scripts/debian11-rootfs.sh), with the project's Node 22 and the extension's files
// (dist/, node_modules/better-sqlite3 as the .vsix ships it) bind-mounted in, in a mount namespace
// of its own (unshare), so that nothing stays mounted however the test ends.
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildCli } from '../../support/cliChild';
import { inspectDatabase } from '../../support/database';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';
import { fingerprintTree } from '../../support/treeCompare';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const NODE_BIN = path.join(ROOT, 'node_modules', 'node', 'bin');
const BETTER_SQLITE3 = path.join(ROOT, 'node_modules', 'better-sqlite3');
/** Where the three bind mounts appear inside the root file system. */
const INSIDE = '/opt/trac-backup';

const isRoot = process.getuid?.() === 0;

describe(
  'on Debian 11 (glibc 2.31): the CLI backs up, verifies and restores through node:sqlite',
  { skip: !isRoot && 'chroot needs root (CI runs as root)' },
  () => {
    let rootfs: string;
    let stage: string;
    let work: string;

    /** Runs the project's Node inside the Debian 11 root, with a clean environment. */
    function inDebian11(args: string[]): { status: number | null; stdout: string; stderr: string } {
      const mounts = [
        `mount -t proc proc "$R/proc"`,
        `mount --bind "$NODE_BIN" "$R${INSIDE}/node"`,
        `mount --bind "$STAGE" "$R${INSIDE}/extension"`,
        `mount --bind "$WORK" "$R${INSIDE}/work"`,
        `exec chroot "$R" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root LANG=C.UTF-8 ${INSIDE}/node/node "$@"`,
      ].join(' && ');
      const run = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', mounts, 'sh', ...args], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH, R: rootfs, NODE_BIN, STAGE: stage, WORK: work },
        timeout: 120_000,
      });
      return { status: run.status, stdout: run.stdout, stderr: run.stderr };
    }

    const cli = (...args: string[]) => inDebian11([`${INSIDE}/extension/dist/cli.js`, ...args]);

    before(async () => {
      // Minutes the first time on a machine (Debian's mirror), then reused; a partial run is never kept.
      rootfs = execFileSync('bash', [path.join(ROOT, 'scripts', 'debian11-rootfs.sh')], { encoding: 'utf8', timeout: 20 * 60_000 }).trim();
      for (const folder of ['node', 'extension', 'work']) {
        await fs.mkdir(path.join(rootfs, INSIDE, folder), { recursive: true });
      }
      buildCli();
      // The extension's files as the .vsix holds them (scripts/package.mjs): the bundles and better-sqlite3's lib and Linux binary.
      stage = await makeTempDir('trac-backup-debian11-stage-');
      await fs.mkdir(path.join(stage, 'dist'));
      for (const bundle of ['cli.js', 'databaseCheckWorker.js']) {
        await fs.copyFile(path.join(ROOT, 'dist', bundle), path.join(stage, 'dist', bundle));
      }
      const binding = path.join(stage, 'node_modules', 'better-sqlite3');
      await fs.mkdir(path.join(binding, 'prebuilds'), { recursive: true });
      await fs.cp(path.join(BETTER_SQLITE3, 'lib'), path.join(binding, 'lib'), { recursive: true });
      await fs.copyFile(path.join(BETTER_SQLITE3, 'package.json'), path.join(binding, 'package.json'));
      await fs.copyFile(path.join(BETTER_SQLITE3, 'prebuilds', 'linux-x64.node'), path.join(binding, 'prebuilds', 'linux-x64.node'));
      work = await makeTempDir('trac-backup-debian11-work-');
      await copyFixture('trac-1.6-populated', 'env', work);
    });
    after(async () => {
      await removeTempDir(stage);
      await removeTempDir(work);
    });

    it('is an old glibc, where better-sqlite3 cannot load and node:sqlite is what the loader picks', () => {
      const glibc = inDebian11(['-p', 'process.report.getReport().header.glibcVersionRuntime']);
      assert.equal(glibc.status, 0, glibc.stderr);
      assert.equal(glibc.stdout.trim(), '2.31');
      const better = inDebian11(['-e', `new (require('${INSIDE}/extension/node_modules/better-sqlite3'))(':memory:')`]);
      assert.notEqual(better.status, 0);
      assert.match(better.stderr, /version `GLIBC_2\.3\d' not found \(required by .*linux-x64\.node\)/);
      const runtime = cli('--runtime');
      assert.equal(runtime.status, 0, runtime.stderr);
      assert.match(runtime.stdout, /^trac-backup \S+: platform linux-x64, Node 22\.\d+\.\d+, .*SQLite through node:sqlite of Node 22/);
      assert.equal(runtime.stderr, '', 'no warning on stderr');
    });

    it('hotcopy, verify and restore of a fixture pass there, and the restored database is whole', async () => {
      const backup = cli('hotcopy', `${INSIDE}/work/env`, `${INSIDE}/work/backups/b1`, '--json');
      assert.equal(backup.status, 0, backup.stderr);
      const made = JSON.parse(backup.stdout) as { databaseIncluded: boolean; databaseVersion: string; files: number };
      assert.equal(made.databaseIncluded, true);
      assert.equal(made.databaseVersion, '45');

      const verify = cli('verify', `${INSIDE}/work/backups/b1`, '--json');
      assert.equal(verify.status, 0, verify.stderr);
      assert.equal((JSON.parse(verify.stdout) as { ok: boolean }).ok, true);

      const restore = cli('restore', `${INSIDE}/work/backups/b1`, `${INSIDE}/work/restored`, '--yes', '--json');
      assert.equal(restore.status, 0, restore.stderr);
      assert.equal(restore.stderr, '');

      // Checked outside, with this machine's better-sqlite3.
      const restored = inspectDatabase(path.join(work, 'restored', 'db', 'trac.db'));
      assert.equal(restored.integrity, 'ok');
      assert.equal(restored.tickets, 60);
      const original = await fingerprintTree(path.join(work, 'env'));
      const copy = await fingerprintTree(path.join(work, 'restored'));
      assert.deepEqual(
        [...original.keys()].filter((file) => !file.startsWith('db/')).sort(),
        [...copy.keys()].filter((file) => !file.startsWith('db/')).sort(),
      );
    });

    it('a damaged backup is refused there as here', async () => {
      const backup = cli('hotcopy', `${INSIDE}/work/env`, `${INSIDE}/work/backups/b2`, '--json');
      assert.equal(backup.status, 0, backup.stderr);
      const file = path.join(work, 'backups', 'b2', 'db', 'trac.db');
      await fs.chmod(file, 0o644);
      const handle = await fs.open(file, 'r+');
      try {
        await handle.write(Buffer.alloc(4096, 0x55), 0, 4096, 8192);
      } finally {
        await handle.close();
      }
      const verify = cli('verify', `${INSIDE}/work/backups/b2`);
      assert.equal(verify.status, 1);
      assert.match(verify.stderr, /^trac-backup: .*b2 failed verification: 2 problems/m);
      assert.match(verify.stdout, /db\/trac\.db/);
    });
  },
);
