import * as path from 'node:path';
import { isKeptBeforeRestore } from './backupNames';
import { localDay, pad2 } from '../shared/format';
import { TracBackupError } from '../shared/errors';

/**
 * Which backups to keep, with restic's and borg's meanings: keepLast keeps the N newest;
 * keepDaily the newest backup of each of the last N days that have one (a day without a backup
 * does not use up a slot), keepWeekly the same per ISO week (Monday to Sunday), keepMonthly per
 * calendar month. A backup kept by any rule stays. Days, weeks and months are those of the local
 * time zone, as a person reading the backup names (local times) counts them.
 */
export interface RetentionPolicy {
  keepLast?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
}

export interface RetentionCandidate {
  path: string;
  createdAt: Date;
  /** Never removed: true, or why (listed with the backup). */
  protected?: boolean | string;
}

export interface RetentionDecision<T extends RetentionCandidate> {
  backup: T;
  /** Why it stays (each rule that keeps it), or why it goes. */
  reasons: string[];
}

export interface RetentionPlan<T extends RetentionCandidate> {
  /** Newest first. */
  keep: Array<RetentionDecision<T>>;
  remove: Array<RetentionDecision<T>>;
}

const RULES = [
  { option: 'keepLast', name: 'last', period: (_: Date, index: number) => String(index) },
  { option: 'keepDaily', name: 'daily', period: (date: Date) => dayKey(date) },
  { option: 'keepWeekly', name: 'weekly', period: (date: Date) => weekKey(date) },
  { option: 'keepMonthly', name: 'monthly', period: (date: Date) => monthKey(date) },
] as const;

/** True when the policy has a rule: an empty policy keeps everything. */
export function hasRetentionRule(policy: RetentionPolicy): boolean {
  return RULES.some((rule) => (policy[rule.option] ?? 0) > 0);
}

/** Refuses counts that are not whole numbers from 0 up. */
export function checkRetentionPolicy(policy: RetentionPolicy): void {
  for (const rule of RULES) {
    const count = policy[rule.option];
    if (count !== undefined && !isCount(count)) {
      throw new TracBackupError('INVALID_ARGUMENT', `${rule.option} must be a whole number from 0 up, not ${asWritten(count)}.`);
    }
  }
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

/** A value as JSON writes it: "2" with its quotes, so that a string is not mistaken for the number. */
function asWritten(value: unknown): string {
  return typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? String(value));
}

/**
 * A retention policy as a person wrote it (the tracBackup.retention setting, parsed JSON): an
 * object whose keys are rules and whose values are whole numbers from 0 up written as numbers.
 * Anything else (`-1`, `"2"`, `1.5`, a misspelt rule) makes the whole policy invalid rather than
 * read otherwise than meant: the problem names the rule and its value as written.
 */
export function readRetentionSetting(value: unknown): { policy: RetentionPolicy } | { problem: string } {
  if (value === undefined || value === null) {
    return { policy: {} };
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    return { problem: `${asWritten(value)} is not an object such as { "keepLast": 7, "keepDaily": 14 }` };
  }
  const rules = new Set<string>(RULES.map((rule) => rule.option));
  const policy: RetentionPolicy = {};
  for (const [key, count] of Object.entries(value)) {
    if (!rules.has(key)) {
      return { problem: `${key}: ${asWritten(count)} is not a rule: the rules are keepLast, keepDaily, keepWeekly and keepMonthly` };
    }
    if (!isCount(count)) {
      const unquoted = typeof count === 'string' && /^\s*\d+\s*$/.test(count) ? ` (write it without quotes: ${key}: ${Number(count)})` : '';
      return { problem: `${key}: ${asWritten(count)} is not a whole number from 0 up${unquoted}` };
    }
    policy[key as keyof RetentionPolicy] = count;
  }
  return { policy };
}

/**
 * Splits backups into those the policy keeps and those it removes, each with its reasons.
 * Never removes a protected backup, one named `*.before-restore-*`, or one dated after `now`
 * (a clock set wrong); with no rule (an empty policy) removes nothing. Any rule keeps the newest
 * backup, so a policy never removes them all.
 */
export function planRetention<T extends RetentionCandidate>(
  backups: readonly T[],
  policy: RetentionPolicy,
  now: Date = new Date(),
): RetentionPlan<T> {
  checkRetentionPolicy(policy);
  const newestFirst = [...backups].sort(
    (a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.path < b.path ? 1 : a.path > b.path ? -1 : 0),
  );
  const reasons = new Map<T, string[]>(newestFirst.map((backup) => [backup, []]));
  const candidates: T[] = [];
  for (const backup of newestFirst) {
    const why = protection(backup, now);
    if (why) {
      reasons.get(backup)!.push(why);
    } else {
      candidates.push(backup);
    }
  }
  if (!hasRetentionRule(policy)) {
    candidates.forEach((backup) => reasons.get(backup)!.push('no retention rule is set: every backup is kept'));
  }
  for (const rule of RULES) {
    const count = policy[rule.option] ?? 0;
    let kept = 0;
    let lastPeriod: string | undefined;
    candidates.forEach((backup, index) => {
      const period = rule.period(backup.createdAt, index);
      if (kept < count && period !== lastPeriod) {
        kept += 1;
        lastPeriod = period;
        reasons.get(backup)!.push(rule.name === 'last' ? `last (${kept} of ${count})` : `${rule.name} ${period} (${kept} of ${count})`);
      }
    });
  }
  const plan: RetentionPlan<T> = { keep: [], remove: [] };
  for (const backup of newestFirst) {
    const why = reasons.get(backup)!;
    if (why.length > 0) {
      plan.keep.push({ backup, reasons: why });
    } else {
      plan.remove.push({ backup, reasons: ['no rule keeps it'] });
    }
  }
  return plan;
}

function protection(backup: RetentionCandidate, now: Date): string | undefined {
  if (backup.protected) {
    return typeof backup.protected === 'string' ? backup.protected : 'protected';
  }
  if (isKeptBeforeRestore(path.basename(backup.path))) {
    return 'made before a restore: never pruned';
  }
  if (backup.createdAt.getTime() > now.getTime()) {
    return 'dated in the future (is the clock right?): never pruned';
  }
  return undefined;
}

/** YYYY-MM-DD in local time. */
export function dayKey(date: Date): string {
  return localDay(date);
}

/** YYYY-MM in local time. */
export function monthKey(date: Date): string {
  return `${date.getFullYear()}-${pad2(date.getMonth() + 1)}`;
}

/** ISO 8601 week of the local date, as YYYY-Www: weeks start on Monday; week 1 holds the year's first Thursday. */
export function weekKey(date: Date): string {
  // Counted in whole days of the local calendar date, so daylight saving time cannot shift a day.
  const day = Date.UTC(date.getFullYear(), date.getMonth(), date.getDate()) / 86_400_000;
  const mondayBased = (date.getDay() + 6) % 7;
  const thursday = day - mondayBased + 3;
  const year = new Date(thursday * 86_400_000).getUTCFullYear();
  const week = Math.floor((thursday - Date.UTC(year, 0, 1) / 86_400_000) / 7) + 1;
  return `${year}-W${pad2(week)}`;
}
