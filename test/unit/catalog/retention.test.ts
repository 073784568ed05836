import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  RetentionCandidate,
  RetentionPolicy,
  dayKey,
  monthKey,
  planRetention,
  readRetentionSetting,
  weekKey,
} from '../../../src/core/catalog/retention';

/** A backup made at a local time: year, month (1–12), day, hour, minute. */
function at(year: number, month: number, day: number, hour = 12, minute = 0): RetentionCandidate {
  const createdAt = new Date(year, month - 1, day, hour, minute);
  const two = (value: number) => String(value).padStart(2, '0');
  return { path: `/backups/env-${year}${two(month)}${two(day)}-${two(hour)}${two(minute)}00`, createdAt };
}

const names = (decisions: Array<{ backup: RetentionCandidate }>) =>
  decisions.map(({ backup }) => backup.path.slice('/backups/env-'.length));

function plan(backups: RetentionCandidate[], policy: RetentionPolicy, now = new Date(2100, 0, 1)) {
  const result = planRetention(backups, policy, now);
  return { keep: names(result.keep), remove: names(result.remove), result };
}

describe('retention periods (local time)', () => {
  it('names days and months of the local calendar', () => {
    assert.equal(dayKey(new Date(2024, 2, 10, 23, 59)), '2024-03-10');
    assert.equal(dayKey(new Date(2024, 2, 11, 0, 0)), '2024-03-11');
    assert.equal(monthKey(new Date(2024, 1, 29, 23, 59)), '2024-02');
    assert.equal(monthKey(new Date(2024, 2, 1, 0, 0)), '2024-03');
  });

  it('counts ISO weeks from Monday, with week 1 holding the first Thursday', () => {
    const cases: Array<[Date, string]> = [
      [new Date(2024, 2, 10, 23, 0), '2024-W10'], // Sunday
      [new Date(2024, 2, 11, 1, 0), '2024-W11'], // the Monday after
      [new Date(2020, 11, 31), '2020-W53'], // 2020 has 53 weeks
      [new Date(2021, 0, 1), '2020-W53'], // a Friday in January, still in 2020's last week
      [new Date(2021, 0, 3), '2020-W53'], // Sunday
      [new Date(2021, 0, 4), '2021-W01'], // Monday
      [new Date(2024, 11, 29), '2024-W52'], // Sunday
      [new Date(2024, 11, 30), '2025-W01'], // a Monday in December, already in 2025's first week
      [new Date(2026, 0, 1), '2026-W01'], // a Thursday
      [new Date(2027, 0, 1), '2026-W53'],
      [new Date(2024, 0, 1), '2024-W01'],
    ];
    for (const [date, week] of cases) {
      assert.equal(weekKey(date), week, date.toDateString());
    }
  });
});

describe('planRetention', () => {
  it('keepDaily: the newest of each day, split at midnight', () => {
    const backups = [at(2024, 3, 10, 23, 59), at(2024, 3, 11, 0, 0), at(2024, 3, 11, 0, 1)];
    const { keep, remove, result } = plan(backups, { keepDaily: 2 });
    assert.deepEqual(keep, ['20240311-000100', '20240310-235900']);
    assert.deepEqual(remove, ['20240311-000000']);
    assert.deepEqual(result.keep[0].reasons, ['daily 2024-03-11 (1 of 2)']);
    assert.deepEqual(result.remove[0].reasons, ['no rule keeps it']);
  });

  it('keepDaily counts only days that have a backup', () => {
    const backups = [at(2024, 5, 1), at(2024, 5, 5), at(2024, 5, 20, 9), at(2024, 5, 20, 18)];
    assert.deepEqual(plan(backups, { keepDaily: 3 }).keep, ['20240520-180000', '20240505-120000', '20240501-120000']);
    assert.deepEqual(plan(backups, { keepDaily: 2 }).remove, ['20240520-090000', '20240501-120000']);
  });

  it('keepWeekly: the newest of each ISO week, Sunday and Monday in different weeks', () => {
    const backups = [at(2024, 3, 9, 10), at(2024, 3, 10, 22), at(2024, 3, 11, 8), at(2024, 3, 13, 9)];
    const { keep, remove } = plan(backups, { keepWeekly: 2 });
    assert.deepEqual(keep, ['20240313-090000', '20240310-220000']);
    assert.deepEqual(remove, ['20240311-080000', '20240309-100000']);
  });

  it('keepWeekly and keepMonthly across a year end with a week 53, combined', () => {
    const backups = [at(2020, 12, 28), at(2021, 1, 1), at(2021, 1, 3), at(2021, 1, 4)];
    const { keep, remove, result } = plan(backups, { keepWeekly: 2, keepMonthly: 2 });
    assert.deepEqual(keep, ['20210104-120000', '20210103-120000', '20201228-120000']);
    assert.deepEqual(remove, ['20210101-120000']);
    assert.deepEqual(result.keep[0].reasons, ['weekly 2021-W01 (1 of 2)', 'monthly 2021-01 (1 of 2)']);
    assert.deepEqual(result.keep[1].reasons, ['weekly 2020-W53 (2 of 2)']);
    assert.deepEqual(result.keep[2].reasons, ['monthly 2020-12 (2 of 2)']);
  });

  it('keepMonthly: the newest of each month, across a leap day and a year end', () => {
    const backups = [at(2023, 12, 31, 23, 30), at(2024, 1, 31, 23), at(2024, 2, 1, 0, 30), at(2024, 2, 29, 23, 59), at(2024, 3, 1, 0, 0)];
    assert.deepEqual(plan(backups, { keepMonthly: 3 }).keep, ['20240301-000000', '20240229-235900', '20240131-230000']);
    assert.deepEqual(plan(backups, { keepMonthly: 12 }).remove, ['20240201-003000']);
  });

  it('keepDaily across a year end', () => {
    const backups = [at(2023, 12, 31, 8), at(2023, 12, 31, 23, 59), at(2024, 1, 1, 0, 1)];
    assert.deepEqual(plan(backups, { keepDaily: 5 }).keep, ['20240101-000100', '20231231-235900']);
  });

  it('keepLast with keepDaily: a backup kept by any rule stays', () => {
    const backups = [9, 12, 18].flatMap((hour) => [1, 2, 3].map((day) => at(2024, 6, day, hour)));
    const { keep, result } = plan(backups, { keepLast: 2, keepDaily: 3 });
    assert.deepEqual(keep, ['20240603-180000', '20240603-120000', '20240602-180000', '20240601-180000']);
    assert.deepEqual(result.keep[0].reasons, ['last (1 of 2)', 'daily 2024-06-03 (1 of 3)']);
    assert.deepEqual(result.keep[1].reasons, ['last (2 of 2)']);
  });

  it('keeps everything with an empty policy (or only zeros)', () => {
    const backups = [at(2024, 1, 1), at(2024, 1, 2), at(2024, 1, 3)];
    for (const policy of [{}, { keepLast: 0, keepDaily: 0 }]) {
      const { keep, remove, result } = plan(backups, policy);
      assert.equal(keep.length, 3);
      assert.deepEqual(remove, []);
      assert.match(result.keep[0].reasons[0], /no retention rule/);
    }
  });

  it('never removes a protected backup or one made before a restore, and they use up no slot', () => {
    const aside = { path: '/backups/env.before-restore-20240105-120000', createdAt: new Date(2024, 0, 5) };
    const pinned = { ...at(2024, 1, 1), protected: 'pinned by hand' };
    const backups = [aside, at(2024, 1, 4), at(2024, 1, 3), at(2024, 1, 2), pinned];
    const { keep, remove, result } = plan(backups, { keepLast: 1 });
    assert.deepEqual(remove, ['20240103-120000', '20240102-120000']);
    assert.equal(keep.length, 3);
    const reasonsOf = (name: string) => result.keep.find(({ backup }) => backup.path.endsWith(name))?.reasons;
    assert.deepEqual(reasonsOf('before-restore-20240105-120000'), ['made before a restore: never pruned']);
    assert.deepEqual(reasonsOf('20240104-120000'), ['last (1 of 1)']);
    assert.deepEqual(reasonsOf('20240101-120000'), ['pinned by hand']);
  });

  it('never removes a backup dated after now', () => {
    const { keep, result } = plan([at(2030, 1, 1), at(2024, 1, 2), at(2024, 1, 1)], { keepLast: 1 }, new Date(2025, 0, 1));
    assert.deepEqual(keep, ['20300101-120000', '20240102-120000']);
    assert.match(result.keep[0].reasons[0], /future/);
  });

  it('always keeps the newest backup under any rule', () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let trial = 0; trial < 200; trial++) {
      const backups = Array.from({ length: 1 + Math.floor(random() * 30) }, () =>
        at(2020 + Math.floor(random() * 3), 1 + Math.floor(random() * 12), 1 + Math.floor(random() * 28), Math.floor(random() * 24)),
      );
      const rule = (['keepLast', 'keepDaily', 'keepWeekly', 'keepMonthly'] as const)[trial % 4];
      const { result } = plan(backups, { [rule]: 1 + Math.floor(random() * 3) });
      const newest = Math.max(...backups.map((backup) => backup.createdAt.getTime()));
      assert.equal(result.keep[0].backup.createdAt.getTime(), newest);
      assert.equal(result.keep.length + result.remove.length, backups.length);
    }
  });

  it('refuses counts that are not whole numbers from 0 up', () => {
    for (const policy of [{ keepLast: -1 }, { keepDaily: 1.5 }, { keepWeekly: Number.NaN }]) {
      assert.throws(() => planRetention([], policy), { code: 'INVALID_ARGUMENT' });
    }
  });

  it('reads tracBackup.retention strictly: whole numbers from 0 up written as numbers, known rules only, the value shown as written', () => {
    assert.deepEqual(readRetentionSetting({}), { policy: {} });
    assert.deepEqual(readRetentionSetting({ keepLast: 3, keepDaily: 0, keepWeekly: 4, keepMonthly: 12 }), {
      policy: { keepLast: 3, keepDaily: 0, keepWeekly: 4, keepMonthly: 12 },
    });
    const problem = (value: unknown) => {
      const read = readRetentionSetting(value);
      assert.ok('problem' in read, `${JSON.stringify(value)} was accepted`);
      return read.problem;
    };
    assert.match(problem({ keepLast: -1 }), /^keepLast: -1 is not a whole number from 0 up/);
    assert.match(problem({ keepLast: '2' }), /^keepLast: "2" is not a whole number from 0 up/);
    assert.match(problem({ keepLast: '2' }), /write it without quotes/);
    assert.match(problem({ keepDaily: 1.5 }), /^keepDaily: 1\.5 is not/);
    assert.match(problem({ keepWeekly: null }), /^keepWeekly: null is not/);
    assert.match(
      problem({ keepLast: 2, keeplast: 3 }),
      /^keeplast: 3 is not a rule: the rules are keepLast, keepDaily, keepWeekly and keepMonthly/,
    );
    assert.match(problem([1]), /^\[1\] is not an object/);
    assert.match(problem('keepLast=2'), /^"keepLast=2" is not an object/);
  });
});
