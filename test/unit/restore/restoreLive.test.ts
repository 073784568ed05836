import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TracBackupError } from '../../../src/core/shared/errors';
import { detectLiveTrac } from '../../../src/core/trac/liveTrac';
import { findProcessesUsing, mentionsPath } from '../../../src/core/trac/processScan';
import { findProcessesByCommandLine } from '../../../src/core/trac/psScan';
import { restore } from '../../../src/core/restore/restore';
import { startNode } from '../../support/childProcess';
import { makeTempDir, removeTempDir } from '../../support/fixtures';
import { RestoreCase, besideEnvironment, makeRestoreCase } from '../../support/restoreCase';
import { fingerprintTree } from '../../support/treeCompare';

const onLinux = process.platform === 'linux';

describe('finding a Trac that uses the environment', () => {
  let tmp: string;
  let area = 0;
  let scenario: () => Promise<RestoreCase>;
  before(async () => {
    tmp = await makeTempDir();
    scenario = () => makeRestoreCase(path.join(tmp, `case-${++area}`));
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it('finds nothing in an environment nobody uses', async () => {
    const { env } = await scenario();
    const report = await detectLiveTrac(env);
    assert.equal(report.running, false, report.summary);
    assert.equal(report.lock, 'free');
    assert.equal(report.database, path.join(env, 'db', 'trac.db'));
    assert.deepEqual(report.processes, []);
  });

  it('detects a database locked by another process, and restore refuses without force', async () => {
    const { backup, env, old } = await scenario();
    // The database path goes through the environment, not the command line: only the lock (and the open file) tell.
    const holder = startNode([path.join(__dirname, '..', '..', 'support', 'lockHolder.js')], {
      ...process.env,
      TRAC_DB: path.join(env, 'db', 'trac.db'),
    });
    try {
      await holder.waitForLine((line) => line === 'locked');

      const report = await detectLiveTrac(env);

      assert.equal(report.lock, 'locked');
      assert.equal(report.running, true);
      assert.match(report.summary ?? '', /database .*trac\.db is locked by another process/);
      if (onLinux) {
        const found = report.processes.find((process) => process.pid === holder.child.pid);
        assert.equal(found?.reason, 'open file', JSON.stringify(report.processes));
        assert.equal(found?.file, path.join(env, 'db', 'trac.db'));
      }
      await assert.rejects(restore(backup, env, { replace: true }), (error: unknown) => {
        assert.ok(error instanceof TracBackupError);
        assert.equal(error.code, 'TRAC_RUNNING', error.message);
        assert.match(error.message, /is locked by another process.*Stop .*--force/);
        assert.ok(!error.message.includes('\n'));
        return true;
      });
      assert.deepEqual(await fingerprintTree(env), old, 'nothing changed');
      assert.deepEqual(await besideEnvironment(env), { asides: [], work: [] });

      const forced = await restore(backup, env, { replace: true, force: true });

      assert.deepEqual(await fingerprintTree(forced.aside!), old);
    } finally {
      holder.child.stdin!.end();
      await holder.exited;
    }
  });

  it(
    'detects a process with the environment path on its command line, naming its pid and command',
    { skip: !onLinux && 'needs /proc' },
    async () => {
      const { backup, env, old, restored } = await scenario();
      const tracd = startNode(['-e', 'console.log("serving"); setInterval(() => {}, 1000)', '--', '--port', '8000', env]);
      try {
        await tracd.waitForLine((line) => line === 'serving');

        const report = await detectLiveTrac(env);

        assert.equal(report.lock, 'free');
        assert.equal(report.running, true);
        const found = report.processes.find((process) => process.pid === tracd.child.pid);
        assert.equal(found?.reason, 'command line');
        assert.ok(found?.command.includes(`--port 8000 ${env}`), found?.command);
        await assert.rejects(
          restore(backup, env, { replace: true }),
          (error: TracBackupError) => error.code === 'TRAC_RUNNING' && error.message.includes(`process ${tracd.child.pid} (`),
        );
        assert.deepEqual(await fingerprintTree(env), old);
        const forced = await restore(backup, env, { replace: true, force: true });
        assert.deepEqual(await fingerprintTree(forced.env), restored);
      } finally {
        tracd.child.kill();
        await tracd.exited;
      }
    },
  );

  it(
    "does not take a process holding only folders open for Trac (VS Code's file watcher walks them); one holding a file is",
    { skip: !onLinux && 'needs /proc' },
    async () => {
      const { env } = await scenario();
      // Folders opened for reading, the way a watcher or a search walks a tree; the command line names no path.
      const walker = startNode(
        [
          '-e',
          'const fs = require("fs"); const held = [process.env.WALK, process.env.WALK + "/db", process.env.WALK + "/files"].map((d) => fs.opendirSync(d)); console.log("walking"); setInterval(() => held.length, 1000)',
        ],
        { ...process.env, WALK: env },
      );
      const logger = startNode(
        [
          '-e',
          'const fs = require("fs"); const fd = fs.openSync(process.env.LOG, "a"); console.log("logging"); setInterval(() => fd, 1000)',
        ],
        { ...process.env, LOG: path.join(env, 'log', 'trac.log') },
      );
      try {
        await walker.waitForLine((line) => line === 'walking');
        await logger.waitForLine((line) => line === 'logging');

        const report = await detectLiveTrac(env);

        assert.ok(!report.processes.some((found) => found.pid === walker.child.pid), JSON.stringify(report.processes));
        const holder = report.processes.find((found) => found.pid === logger.child.pid);
        assert.equal(holder?.file, path.join(env, 'log', 'trac.log'), JSON.stringify(report.processes));
      } finally {
        walker.child.kill();
        logger.child.kill();
        await Promise.all([walker.exited, logger.exited]);
      }
      const alone = await detectLiveTrac(env);
      assert.equal(alone.running, false, alone.summary);
    },
  );

  it('leaves out this process and the processes that started it', { skip: !onLinux && 'needs /proc' }, () => {
    const scan = findProcessesUsing([process.cwd(), ...process.argv]);
    assert.ok(!scan.processes.some((found) => found.pid === process.pid || found.pid === process.ppid), JSON.stringify(scan.processes));
    assert.equal(scan.supported, true);
  });

  it('without /proc (macOS), finds the command line through ps, leaving out this process and its parents', async () => {
    const env = path.join(tmp, 'seen-by-ps');
    const tracd = startNode(['-e', 'console.log("serving"); setInterval(() => {}, 1000)', '--', '--port', '8000', env]);
    try {
      await tracd.waitForLine((line) => line === 'serving');
      const scan = findProcessesByCommandLine([env, process.cwd(), ...process.argv]);
      assert.equal(scan.supported, true);
      const found = scan.processes.find((process) => process.pid === tracd.child.pid);
      assert.ok(found, `ps did not find the child naming ${env}: ${JSON.stringify(scan.processes)}`);
      assert.equal(found.reason, 'command line');
      assert.match(found.command, /--port 8000/);
      assert.ok(!scan.processes.some((other) => other.pid === process.pid || other.pid === process.ppid), JSON.stringify(scan.processes));
    } finally {
      tracd.child.kill();
      await tracd.exited;
    }
    const gone = findProcessesByCommandLine([env]);
    assert.ok(!gone.processes.some((process) => process.pid === tracd.child.pid), 'a stopped process was still found');
    assert.deepEqual(
      findProcessesByCommandLine([env], () => undefined),
      { processes: [], unreadable: 0, supported: false },
    );
  });

  it('reads a ps listing as macOS prints it', () => {
    const listing = [
      '    1     0 /sbin/launchd',
      ` 4242     1 /usr/local/bin/python3 /usr/local/bin/tracd --port 8000 /Users/me/trac/project`,
      ` 4243     1 /usr/local/bin/tracd --port 8001 /Users/me/trac/project-old`,
      ` ${process.pid}     1 node restore /Users/me/trac/project`,
      '',
    ].join('\n');
    const scan = findProcessesByCommandLine(['/Users/me/trac/project'], () => listing);
    assert.deepEqual(
      scan.processes.map((found) => [found.pid, found.reason]),
      [[4242, 'command line']],
    );
  });

  it('matches whole paths only', () => {
    assert.equal(mentionsPath('/srv/trac/a', '/srv/trac/a'), true);
    assert.equal(mentionsPath('/srv/trac/a/', '/srv/trac/a'), true);
    assert.equal(mentionsPath('--basic-auth=a,/srv/trac/a/.htpasswd,realm', '/srv/trac/a'), true);
    assert.equal(mentionsPath('TRAC_ENV=/srv/trac/a', '/srv/trac/a'), true);
    assert.equal(mentionsPath('/srv/trac/ab', '/srv/trac/a'), false);
    assert.equal(mentionsPath('/old/srv/trac/a', '/srv/trac/a'), false);
  });
});
