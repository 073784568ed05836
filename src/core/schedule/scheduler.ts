import { describeError } from '../shared/errors';
import { acquireLease, isEnvironmentBusy } from '../work/lease';

export type BackupSchedule = 'off' | 'hourly' | 'daily' | 'weekly';

const HOUR_MS = 60 * 60 * 1000;

export const SCHEDULE_INTERVAL_MS: Readonly<Record<Exclude<BackupSchedule, 'off'>, number>> = {
  hourly: HOUR_MS,
  daily: 24 * HOUR_MS,
  weekly: 7 * 24 * HOUR_MS,
};

let intervalOverrideMs: number | undefined;

/**
 * Makes every schedule's interval `ms` (undefined: back to the real ones). For end-to-end tests,
 * which cannot wait an hour: the extension sets it from TRAC_BACKUP_SCHEDULE_INTERVAL_MS.
 */
export function overrideScheduleInterval(ms: number | undefined): void {
  intervalOverrideMs = ms;
}

export function scheduleIntervalMs(schedule: Exclude<BackupSchedule, 'off'>): number {
  return intervalOverrideMs ?? SCHEDULE_INTERVAL_MS[schedule];
}

/**
 * When the next backup is due: one interval after the last one; at once (`now`) when there is
 * none; never (undefined) when the schedule is off. A time in the past means overdue.
 */
export function nextDue(lastBackupAt: Date | undefined, schedule: BackupSchedule, now: Date): Date | undefined {
  if (schedule === 'off') {
    return undefined;
  }
  return lastBackupAt ? new Date(lastBackupAt.getTime() + scheduleIntervalMs(schedule)) : now;
}

/**
 * True when the newest backup (or the last check that found nothing to back up) is older than
 * the schedule allows: one interval, plus a tenth of it for a backup under way or a machine that
 * just woke up. Always false with the schedule off.
 */
export function isOverdue(lastBackupAt: Date | undefined, schedule: BackupSchedule, now: Date): boolean {
  if (schedule === 'off') {
    return false;
  }
  const interval = scheduleIntervalMs(schedule);
  return !lastBackupAt || now.getTime() - lastBackupAt.getTime() > interval * 1.1;
}

export interface LastBackup {
  path: string;
  createdAt: Date;
}

/** What the scheduler needs from its surroundings (the extension, or a test with a fake clock). */
export interface SchedulerHost {
  now(): Date;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
  /**
   * The environment's schedule (each may have its own: a folder's settings), read at each round:
   * a changed setting takes effect at the next one (or at reschedule()).
   */
  schedule(environment: string): BackupSchedule;
  environments(): readonly string[] | Promise<readonly string[]>;
  /** The newest backup of the environment (undefined: none yet). */
  lastBackup(environment: string): Promise<LastBackup | undefined>;
  /** E.g. environmentChangedSince(environment, lastBackup.path).changed. */
  hasChangedSince(environment: string, lastBackup: LastBackup): Promise<boolean>;
  runBackup(environment: string): Promise<unknown>;
  /** Applies the retention policy after a backup of the environment. */
  prune(environment: string): Promise<unknown>;
  /**
   * Takes the schedule's lease on the environment for one visit (default: acquireLease(…,
   * 'scheduled'), shared by every window and process): of several schedulers only one backs an
   * environment up; the others skip it, as they find it busy.
   */
  takeLease?(environment: string): Promise<{ release(): Promise<void> }>;
  /** Told each step; a throwing listener does not stop the scheduler. */
  report?(event: SchedulerEvent): void;
}

export type SchedulerEvent =
  | { type: 'backup-started'; environment: string }
  | { type: 'backed-up'; environment: string; result: unknown }
  | { type: 'skipped'; environment: string; reason: string }
  | { type: 'pruned'; environment: string; result: unknown }
  | { type: 'failed'; environment: string; stage: 'check' | 'backup' | 'prune'; error: unknown; message: string }
  | { type: 'idle'; nextRunAt?: Date };

export interface SchedulerRound {
  backedUp: string[];
  skipped: string[];
  failed: string[];
}

export interface SchedulerOptions {
  /** The longest sleep: the clock is looked at again after it (a machine that slept, a clock set). */
  maxSleepMs?: number;
  /** After a failure, how long before the environment is tried again (at most one interval). */
  retryMs?: number;
  /** After finding another scheduler (window) backing it up, how long before looking again (at most one interval). */
  busyRetryMs?: number;
}

/**
 * Backs up each environment when its own schedule says it is due, one after the other: skipped when
 * nothing changed since its last backup (then checked again one interval later), otherwise
 * backed up and then pruned. A failure is reported and retried later; it does not stop the
 * other environments. Knows nothing of VS Code: the host gives the clock, the timer and the work.
 */
export class BackupScheduler {
  private timer: unknown;
  private running = false;
  private work: Promise<unknown> = Promise.resolve();
  private next: Date | undefined;
  private readonly checkedAt = new Map<string, Date>();
  private readonly failedAt = new Map<string, Date>();
  private readonly busyAt = new Map<string, Date>();

  constructor(
    private readonly host: SchedulerHost,
    private readonly options: SchedulerOptions = {},
  ) {}

  /** Starts the timer (it fires at once for an environment that has no backup yet). */
  start(): Promise<void> {
    this.running = true;
    return this.reschedule();
  }

  stop(): void {
    this.running = false;
    this.clear();
  }

  /** Looks again at when the next backup is due: after a change of settings or environments. */
  reschedule(): Promise<void> {
    return this.enqueue(() => this.arm());
  }

  /** Runs what is due now (what the timer does), after any round under way. */
  runDue(): Promise<SchedulerRound> {
    return this.enqueue(async () => {
      const round = await this.round();
      await this.arm();
      return round;
    });
  }

  /** Resolves once nothing is running or queued. */
  async whenIdle(): Promise<void> {
    let current: Promise<unknown>;
    do {
      current = this.work;
      await current.catch(() => undefined);
    } while (current !== this.work);
  }

  /** When the timer fires next; undefined when stopped or nothing is scheduled. */
  get nextRunAt(): Date | undefined {
    return this.next;
  }

  /** The last time the environment was found unchanged since its last backup (so not backed up). */
  checkedUnchangedAt(environment: string): Date | undefined {
    return this.checkedAt.get(environment);
  }

  private enqueue<T>(job: () => Promise<T>): Promise<T> {
    const result = this.work.then(job, job);
    this.work = result.catch(() => undefined);
    return result;
  }

  private async round(): Promise<SchedulerRound> {
    const round: SchedulerRound = { backedUp: [], skipped: [], failed: [] };
    let environments: readonly string[];
    try {
      environments = await this.environments();
    } catch (error) {
      this.emit({ type: 'failed', environment: '', stage: 'check', error, message: describeError(error) });
      return round;
    }
    for (const environment of environments) {
      const outcome = await this.visit(environment);
      if (outcome) {
        round[outcome].push(environment);
      }
    }
    return round;
  }

  private async visit(environment: string): Promise<keyof SchedulerRound | undefined> {
    try {
      if (!this.isDue(environment, await this.host.lastBackup(environment))) {
        return undefined;
      }
    } catch (error) {
      return this.failed(environment, 'check', error);
    }
    let lease: { release(): Promise<void> };
    try {
      lease = await (this.host.takeLease ?? ((env) => acquireLease(env, 'scheduled')))(environment);
    } catch (error) {
      return isEnvironmentBusy(error) ? this.busy(environment, error) : this.failed(environment, 'check', error);
    }
    try {
      return await this.backUpIfChanged(environment);
    } finally {
      this.busyAt.delete(environment);
      await lease.release().catch(() => undefined);
    }
  }

  /** Under the lease: looked at again first (another window may have just backed it up), then backup and prune. */
  private async backUpIfChanged(environment: string): Promise<keyof SchedulerRound | undefined> {
    try {
      const last = await this.host.lastBackup(environment);
      if (!this.isDue(environment, last)) {
        return undefined;
      }
      if (last && !(await this.host.hasChangedSince(environment, last))) {
        this.checkedAt.set(environment, this.host.now());
        this.failedAt.delete(environment);
        this.emit({ type: 'skipped', environment, reason: 'nothing changed since the last backup' });
        return 'skipped';
      }
    } catch (error) {
      return this.failed(environment, 'check', error);
    }
    this.emit({ type: 'backup-started', environment });
    try {
      this.emit({ type: 'backed-up', environment, result: await this.host.runBackup(environment) });
    } catch (error) {
      if (isEnvironmentBusy(error)) {
        return this.busy(environment, error); // a restore began meanwhile
      }
      return this.failed(environment, 'backup', error);
    }
    this.checkedAt.delete(environment);
    this.failedAt.delete(environment);
    try {
      this.emit({ type: 'pruned', environment, result: await this.host.prune(environment) });
    } catch (error) {
      this.emit({ type: 'failed', environment, stage: 'prune', error, message: describeError(error) });
    }
    return 'backedUp';
  }

  private isDue(environment: string, last: LastBackup | undefined): boolean {
    const due = this.dueAt(environment, last);
    return due !== undefined && due.getTime() <= this.host.now().getTime();
  }

  /** Another window's schedule (or a restore) has it: not a failure; it is looked at again a little later. */
  private busy(environment: string, error: unknown): 'skipped' {
    this.busyAt.set(environment, this.host.now());
    this.emit({ type: 'skipped', environment, reason: describeError(error) });
    return 'skipped';
  }

  private failed(environment: string, stage: 'check' | 'backup', error: unknown): 'failed' {
    this.failedAt.set(environment, this.host.now());
    this.emit({ type: 'failed', environment, stage, error, message: describeError(error) });
    return 'failed';
  }

  /** Due one interval after the later of the last backup and the last unchanged check; later after a failure. */
  private dueAt(environment: string, last: LastBackup | undefined): Date | undefined {
    const schedule = this.host.schedule(environment);
    const checked = this.checkedAt.get(environment);
    const since = [last?.createdAt, checked].filter((date): date is Date => date !== undefined);
    const base = since.length ? new Date(Math.max(...since.map((date) => date.getTime()))) : undefined;
    const due = nextDue(base, schedule, this.host.now());
    if (!due || schedule === 'off') {
      return due;
    }
    const interval = scheduleIntervalMs(schedule);
    const failed = this.failedAt.get(environment);
    const busy = this.busyAt.get(environment);
    const later = [
      failed && failed.getTime() + Math.min(this.options.retryMs ?? HOUR_MS, interval),
      busy && busy.getTime() + Math.min(this.options.busyRetryMs ?? 60_000, interval),
    ].filter((time): time is number => time !== undefined);
    return new Date(Math.max(due.getTime(), ...later));
  }

  private async arm(): Promise<void> {
    this.clear();
    if (!this.running) {
      return;
    }
    let earliest: Date | undefined;
    // Without any schedule on, nothing wakes the scheduler but reschedule(); after a failure to
    // list the environments, it looks again later.
    let anyOn = false;
    try {
      for (const environment of await this.environments()) {
        anyOn ||= this.host.schedule(environment) !== 'off';
        const due = this.dueAt(environment, await this.host.lastBackup(environment).catch(() => undefined));
        if (due && (!earliest || due < earliest)) {
          earliest = due;
        }
      }
    } catch (error) {
      anyOn = true;
      this.emit({ type: 'failed', environment: '', stage: 'check', error, message: describeError(error) });
    }
    const now = this.host.now().getTime();
    const maxSleep = this.options.maxSleepMs ?? 15 * 60 * 1000;
    const wake = earliest ? Math.min(earliest.getTime(), now + maxSleep) : anyOn ? now + maxSleep : undefined;
    this.next = wake === undefined ? undefined : new Date(wake);
    this.emit({ type: 'idle', nextRunAt: earliest });
    if (wake !== undefined) {
      this.timer = this.host.setTimer(
        () => {
          this.timer = undefined;
          void this.runDue();
        },
        Math.max(0, wake - now),
      );
    }
  }

  private async environments(): Promise<readonly string[]> {
    return this.host.environments();
  }

  private clear(): void {
    if (this.timer !== undefined) {
      this.host.clearTimer(this.timer);
      this.timer = undefined;
    }
    this.next = undefined;
  }

  private emit(event: SchedulerEvent): void {
    try {
      this.host.report?.(event);
    } catch {
      // a listener's failure is its own
    }
  }
}
