import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { BackupSchedule, BackupScheduler, LastBackup, SchedulerEvent, isOverdue, nextDue } from '../../../src/core/schedule/scheduler';
import { makeTempDir, removeTempDir } from '../../support/fixtures';

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

/** A clock that moves only when told, with the timers set on it. */
class FakeClock {
  private timers: Array<{ id: number; at: number; fn: () => void }> = [];
  private nextId = 1;
  constructor(public time: number) {}

  now = () => new Date(this.time);
  setTimer = (fn: () => void, ms: number) => {
    const id = this.nextId++;
    this.timers.push({ id, at: this.time + ms, fn });
    return id;
  };
  clearTimer = (id: unknown) => {
    this.timers = this.timers.filter((timer) => timer.id !== id);
  };

  /** Moves the clock forward, firing the timers that fall due on the way (in order). */
  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      const due = this.timers.filter((timer) => timer.at <= until).sort((a, b) => a.at - b.at)[0];
      if (!due) {
        break;
      }
      this.timers = this.timers.filter((timer) => timer !== due);
      this.time = Math.max(this.time, due.at);
      due.fn();
    }
    this.time = until;
  }

  get pending(): number {
    return this.timers.length;
  }
}

/** Environments whose backups, changes and failures the test decides. */
function fakeEnvironments(clock: FakeClock, names: string[]) {
  const backups = new Map<string, LastBackup[]>();
  const changed = new Set<string>(names);
  const failing = new Set<string>();
  const events: SchedulerEvent[] = [];
  const pruned: string[] = [];
  let schedule: BackupSchedule = 'daily';
  const host = {
    now: clock.now,
    setTimer: clock.setTimer,
    clearTimer: clock.clearTimer,
    schedule: (_environment: string) => schedule,
    environments: () => names,
    lastBackup: (env: string) => Promise.resolve(backups.get(env)?.at(-1)),
    hasChangedSince: (env: string) => Promise.resolve(changed.has(env)),
    runBackup: (env: string): Promise<LastBackup> => {
      if (failing.has(env)) {
        return Promise.reject(new Error(`the disk of ${env} is full`));
      }
      const backup = { path: `/backups/${env}-${backups.get(env)?.length ?? 0}`, createdAt: clock.now() };
      backups.set(env, [...(backups.get(env) ?? []), backup]);
      changed.delete(env);
      return Promise.resolve(backup);
    },
    prune: (env: string): Promise<void> => {
      pruned.push(env);
      return Promise.resolve();
    },
    report: (event: SchedulerEvent) => events.push(event),
  };
  return {
    host,
    backups,
    changed,
    failing,
    events,
    pruned,
    count: (env: string) => backups.get(env)?.length ?? 0,
    setSchedule: (value: BackupSchedule) => (schedule = value),
  };
}

describe('nextDue and isOverdue', () => {
  const now = new Date(2024, 5, 1, 12);
  it('is one interval after the last backup, now without one, never when off', () => {
    const last = new Date(2024, 5, 1, 9);
    assert.equal(nextDue(last, 'hourly', now)?.getTime(), last.getTime() + HOUR);
    assert.equal(nextDue(last, 'daily', now)?.getTime(), last.getTime() + DAY);
    assert.equal(nextDue(last, 'weekly', now)?.getTime(), last.getTime() + 7 * DAY);
    assert.equal(nextDue(undefined, 'daily', now), now);
    assert.equal(nextDue(last, 'off', now), undefined);
  });

  it('calls a backup overdue once it is older than the interval and a tenth', () => {
    assert.equal(isOverdue(new Date(now.getTime() - DAY), 'daily', now), false);
    assert.equal(isOverdue(new Date(now.getTime() - 1.2 * DAY), 'daily', now), true);
    assert.equal(isOverdue(undefined, 'hourly', now), true);
    assert.equal(isOverdue(undefined, 'off', now), false);
  });
});

describe('BackupScheduler (fake clock)', () => {
  it('backs up at once what has no backup, then fires when due and not before', async () => {
    const clock = new FakeClock(Date.UTC(2024, 5, 1, 8));
    const world = fakeEnvironments(clock, ['alpha']);
    const scheduler = new BackupScheduler(world.host, { maxSleepMs: 30 * DAY });
    await scheduler.start();
    clock.advance(0);
    await scheduler.whenIdle();
    assert.equal(world.count('alpha'), 1);
    assert.deepEqual(world.pruned, ['alpha'], 'a backup is followed by a prune');
    assert.equal(scheduler.nextRunAt?.getTime(), clock.time + DAY);

    world.changed.add('alpha');
    clock.advance(DAY - 1);
    await scheduler.whenIdle();
    assert.equal(world.count('alpha'), 1, 'not before it is due');
    clock.advance(1);
    await scheduler.whenIdle();
    assert.equal(world.count('alpha'), 2, 'when due');
    scheduler.stop();
    assert.equal(clock.pending, 0);
  });

  it('skips an unchanged environment, checks again an interval later, and backs up after a change', async () => {
    const clock = new FakeClock(Date.UTC(2024, 5, 1, 8));
    const world = fakeEnvironments(clock, ['alpha']);
    world.setSchedule('hourly');
    const scheduler = new BackupScheduler(world.host);
    await scheduler.start();
    clock.advance(0);
    await scheduler.whenIdle();
    assert.equal(world.count('alpha'), 1);

    clock.advance(HOUR);
    await scheduler.whenIdle();
    assert.equal(world.count('alpha'), 1, 'unchanged: skipped');
    assert.deepEqual(world.events.filter((event) => event.type === 'skipped').length, 1);
    assert.equal(scheduler.checkedUnchangedAt('alpha')?.getTime(), clock.time);

    world.changed.add('alpha');
    clock.advance(HOUR / 2);
    await scheduler.whenIdle();
    assert.equal(world.count('alpha'), 1, 'the next check is an interval after the last one');
    clock.advance(HOUR / 2);
    await scheduler.whenIdle();
    assert.equal(world.count('alpha'), 2, 'changed: backed up');
    scheduler.stop();
  });

  it('goes on with the other environments when one fails, and retries it later', async () => {
    const clock = new FakeClock(Date.UTC(2024, 5, 1, 8));
    const world = fakeEnvironments(clock, ['alpha', 'broken', 'gamma']);
    world.failing.add('broken');
    const scheduler = new BackupScheduler(world.host, { retryMs: HOUR, maxSleepMs: DAY });
    await scheduler.start();
    clock.advance(0);
    await scheduler.whenIdle();
    assert.deepEqual([world.count('alpha'), world.count('broken'), world.count('gamma')], [1, 0, 1]);
    const failure = world.events.find((event) => event.type === 'failed');
    assert.deepEqual(
      failure && [failure.environment, failure.type === 'failed' && failure.stage, failure.type === 'failed' && failure.message],
      ['broken', 'backup', 'the disk of broken is full'],
    );
    assert.equal(scheduler.nextRunAt?.getTime(), clock.time + HOUR, 'the failed one is retried in an hour');

    world.failing.delete('broken');
    clock.advance(HOUR);
    await scheduler.whenIdle();
    assert.deepEqual([world.count('alpha'), world.count('broken'), world.count('gamma')], [1, 1, 1]);
    scheduler.stop();
  });

  it('reports a failed change check or prune and goes on', async () => {
    const clock = new FakeClock(Date.UTC(2024, 5, 1, 8));
    const world = fakeEnvironments(clock, ['alpha', 'beta']);
    world.host.prune = () => Promise.reject(new Error('prune failed'));
    const scheduler = new BackupScheduler(world.host);
    const round = await scheduler.runDue();
    assert.deepEqual(round, { backedUp: ['alpha', 'beta'], skipped: [], failed: [] });
    assert.equal(world.events.filter((event) => event.type === 'failed' && event.stage === 'prune').length, 2);

    world.host.hasChangedSince = (env: string) => {
      if (env === 'alpha') {
        return Promise.reject(new Error('cannot read trac.ini'));
      }
      return Promise.resolve(true);
    };
    clock.advance(DAY);
    const second = await scheduler.runDue();
    assert.deepEqual(second, { backedUp: ['beta'], skipped: [], failed: ['alpha'] });
  });

  it('does nothing with the schedule off, and picks up a new schedule on reschedule()', async () => {
    const clock = new FakeClock(Date.UTC(2024, 5, 1, 8));
    const world = fakeEnvironments(clock, ['alpha']);
    world.setSchedule('off');
    const scheduler = new BackupScheduler(world.host);
    await scheduler.start();
    clock.advance(30 * DAY);
    await scheduler.whenIdle();
    assert.equal(world.count('alpha'), 0);
    assert.equal(clock.pending, 0);
    assert.equal(scheduler.nextRunAt, undefined);

    world.setSchedule('weekly');
    await scheduler.reschedule();
    clock.advance(0);
    await scheduler.whenIdle();
    assert.equal(world.count('alpha'), 1);
    scheduler.stop();
  });

  it("runs each environment by its own schedule (a folder's settings): one hourly, one off, one weekly", async () => {
    const clock = new FakeClock(Date.UTC(2024, 5, 1, 8));
    const world = fakeEnvironments(clock, ['off-here', 'hourly-here', 'weekly-here']);
    const schedules: Record<string, BackupSchedule> = { 'off-here': 'off', 'hourly-here': 'hourly', 'weekly-here': 'weekly' };
    world.host.schedule = (environment: string) => schedules[environment];
    const scheduler = new BackupScheduler(world.host, { maxSleepMs: 30 * DAY });
    await scheduler.start();
    clock.advance(0);
    await scheduler.whenIdle();
    assert.deepEqual([world.count('off-here'), world.count('hourly-here'), world.count('weekly-here')], [0, 1, 1]);
    assert.equal(scheduler.nextRunAt?.getTime(), clock.time + HOUR, 'the hourly one is next');

    for (const env of Object.keys(schedules)) {
      world.changed.add(env);
    }
    clock.advance(HOUR);
    await scheduler.whenIdle();
    assert.deepEqual([world.count('off-here'), world.count('hourly-here'), world.count('weekly-here')], [0, 2, 1]);
    world.changed.add('hourly-here');
    clock.advance(7 * DAY);
    await scheduler.whenIdle();
    assert.deepEqual([world.count('off-here'), world.count('hourly-here'), world.count('weekly-here')], [0, 3, 2]);

    // Every environment off: the scheduler sleeps until told of a change.
    schedules['hourly-here'] = 'off';
    schedules['weekly-here'] = 'off';
    await scheduler.reschedule();
    assert.equal(scheduler.nextRunAt, undefined);
    assert.equal(clock.pending, 0);
    scheduler.stop();
  });

  it('sleeps at most maxSleepMs at a time, so a changed clock is noticed', async () => {
    const clock = new FakeClock(Date.UTC(2024, 5, 1, 8));
    const world = fakeEnvironments(clock, ['alpha']);
    world.setSchedule('weekly');
    const scheduler = new BackupScheduler(world.host, { maxSleepMs: HOUR });
    await scheduler.start();
    clock.advance(0);
    await scheduler.whenIdle();
    assert.equal(scheduler.nextRunAt?.getTime(), clock.time + HOUR);
    scheduler.stop();
  });
});

describe('several schedulers (windows) on one environment', () => {
  it('lets one back it up when both come due at once; the other skips it without a failure, and backs nothing up twice', async () => {
    const dir = await makeTempDir();
    try {
      const env = path.join(dir, 'shared-env');
      const clock = new FakeClock(Date.UTC(2024, 5, 1, 8));
      const shared = fakeEnvironments(clock, [env]);
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let backupsRun = 0;
      const slowHost = (events: SchedulerEvent[]) => ({
        ...shared.host,
        report: (event: SchedulerEvent) => events.push(event),
        runBackup: async (environment: string) => {
          backupsRun += 1;
          await gate;
          return shared.host.runBackup(environment);
        },
      });
      const eventsA: SchedulerEvent[] = [];
      const eventsB: SchedulerEvent[] = [];
      const a = new BackupScheduler(slowHost(eventsA));
      const b = new BackupScheduler(slowHost(eventsB));
      const roundA = a.runDue();
      // B comes due while A's backup runs: A holds the schedule's lease.
      await new Promise((resolve) => setTimeout(resolve, 50));
      const roundB = await b.runDue();
      release();
      await roundA;
      assert.equal(backupsRun, 1, 'both windows backed the environment up');
      assert.deepEqual(roundB.skipped, [env]);
      assert.match(eventsB.map((event) => (event.type === 'skipped' ? event.reason : '')).join(''), /a scheduled backup in this window/);
      assert.equal(
        [...eventsA, ...eventsB].filter((event) => event.type === 'failed').length,
        0,
        'a busy environment was reported as a failure',
      );

      // B tries again once its short wait is over: the backup A made is there, so nothing is due.
      clock.advance(2 * 60_000);
      const again = await b.runDue();
      assert.deepEqual(again.backedUp, [], 'B backed up the state A had just backed up');
      assert.equal(shared.count(env), 1);
      a.stop();
      b.stop();
    } finally {
      await removeTempDir(dir);
    }
  });

  it('looks again under the lease: a backup another window just made is not made twice', async () => {
    const dir = await makeTempDir();
    try {
      const env = path.join(dir, 'looked-again');
      const clock = new FakeClock(Date.UTC(2024, 5, 1, 8));
      const world = fakeEnvironments(clock, [env]);
      let looks = 0;
      // The first look (before the lease) is stale; by the second, another window's backup is on disk.
      const host = {
        ...world.host,
        lastBackup: (environment: string) => {
          looks += 1;
          return Promise.resolve(looks === 1 ? undefined : { path: `${environment}-by-the-other-window`, createdAt: clock.now() });
        },
      };
      const scheduler = new BackupScheduler(host);
      const round = await scheduler.runDue();
      assert.equal(looks, 2, 'the schedule did not look again once it held the lease');
      assert.deepEqual(round.backedUp, []);
      assert.equal(world.count(env), 0);
      scheduler.stop();
    } finally {
      await removeTempDir(dir);
    }
  });
});
