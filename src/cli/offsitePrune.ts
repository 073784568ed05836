import { hasRetentionRule, localDateTime, OffsitePruneResult, planOffsitePrune, plural, pruneOffsite, RetentionPolicy } from '../core';
import { CliCommand, CliContext, EXIT_OK, UsageError, parseVerbArgs } from './command';
import { OFFSITE_HELP, OFFSITE_OPTIONS, cliRepository, withLockWait } from './offsiteOptions';
import { writeResult } from './progressBar';

const HELP = `Usage: trac-backup offsite-prune <repository> [--keep-last N] [--keep-daily N]
                           [--keep-weekly N] [--keep-monthly N]
                           [--environment <env>] [--dry-run] [--restic <path>] [-o k=v]… [--json]

Forgets the snapshots 'trac-backup send' made that no rule keeps, and prunes
the data only they used (restic forget --prune), listing what stays and what
goes, with the reasons. The rules are prune's (and tracBackup.retention's),
computed by the same code: --keep-daily N keeps the newest snapshot of each of
the last N days that have one (likewise ISO weeks and months, in local time),
--keep-last N the N newest; each environment's snapshots are counted on their
own; snapshots dated in the future are kept. Other snapshots in the repository
are never touched.

Options:
  --keep-last N        Keep the N newest snapshots
  --keep-daily N       Keep the newest snapshot of each of the last N days
  --keep-weekly N      Keep the newest snapshot of each of the last N weeks
  --keep-monthly N     Keep the newest snapshot of each of the last N months
  --environment <env>  Only the snapshots of this environment (this machine, its path)
  --dry-run            List what would be forgotten; change nothing
${OFFSITE_HELP}`;

const RULES = { 'keep-last': 'keepLast', 'keep-daily': 'keepDaily', 'keep-weekly': 'keepWeekly', 'keep-monthly': 'keepMonthly' } as const;

export const offsitePruneCommand: CliCommand = {
  name: 'offsite-prune',
  summary: 'Forget and prune the snapshots a retention policy does not keep',
  help: HELP,
  async run(args, context) {
    const { values, positionals } = parseVerbArgs(
      'offsite-prune',
      args,
      {
        ...OFFSITE_OPTIONS,
        'keep-last': { type: 'string' },
        'keep-daily': { type: 'string' },
        'keep-weekly': { type: 'string' },
        'keep-monthly': { type: 'string' },
        environment: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
      },
      { count: 1, what: 'the restic repository' },
    );
    const policy: RetentionPolicy = {};
    for (const [flag, option] of Object.entries(RULES) as Array<[keyof typeof RULES, keyof RetentionPolicy]>) {
      const text = values[flag];
      if (text !== undefined) {
        if (!/^\d+$/.test(text)) {
          throw new UsageError(`--${flag} must be a whole number ≥ 0, not '${text}'`, 'offsite-prune');
        }
        policy[option] = Number(text);
      }
    }
    if (!hasRetentionRule(policy)) {
      throw new UsageError('offsite-prune needs at least one --keep-… rule above 0 (without one, every snapshot is kept)', 'offsite-prune');
    }
    const repository = cliRepository(positionals[0], values);
    const plan = await planOffsitePrune(repository, policy, { environment: values.environment, signal: context.signal });
    const result = await withLockWait(values, context, () =>
      pruneOffsite(repository, plan, { dryRun: values['dry-run'], signal: context.signal }),
    );
    writeResult(context, values.json, toJson(result), () => report(result, context));
    return EXIT_OK;
  },
};

function report(result: OffsitePruneResult, context: CliContext): void {
  let kept = 0;
  let removed = 0;
  for (const environment of result.environments) {
    context.stdout.write(`${environment.projectName ?? 'project unknown'} (${environment.environmentTag || 'untagged'}):\n`);
    const rows = [
      ...environment.keep.map((decision) => ['keep', decision] as const),
      ...environment.remove.map((decision) => [result.dryRun ? 'would forget' : 'forget', decision] as const),
    ].sort(([, a], [, b]) => b.backup.createdAt.getTime() - a.backup.createdAt.getTime());
    for (const [action, decision] of rows) {
      context.stdout.write(
        `  ${action.padEnd(12)}  ${decision.backup.snapshot.shortId}  ${localDateTime(decision.backup.createdAt, { seconds: false })}  ` +
          `${decision.backup.path}  ${decision.reasons.join(', ')}\n`,
      );
    }
    kept += environment.keep.length;
    removed += environment.remove.length;
  }
  context.stdout.write(
    result.dryRun
      ? `Dry run: ${plural(removed, 'snapshot')} would be forgotten from ${result.repository}, ${kept} kept; nothing was changed.\n`
      : `Forgot ${plural(result.forgotten.length, 'snapshot')} in ${result.repository} and pruned their data; ${kept} kept.\n`,
  );
}

function toJson(result: OffsitePruneResult) {
  return {
    ...result,
    environments: result.environments.map((environment) => {
      const decision = ({ backup, reasons }: OffsitePruneResult['environments'][number]['keep'][number]) => ({
        snapshot: backup.snapshot.id,
        backup: backup.path,
        createdAt: backup.createdAt.toISOString(),
        reasons,
      });
      return { ...environment, keep: environment.keep.map(decision), remove: environment.remove.map(decision) };
    }),
  };
}
