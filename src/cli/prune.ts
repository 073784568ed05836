import * as path from 'node:path';
import {
  hasRetentionRule,
  localDateTime,
  plural,
  PruneBackup,
  pruneBackups,
  PruneResult,
  RetentionDecision,
  RetentionPolicy,
} from '../core';
import { CliCommand, CliContext, EXIT_CANCELLED, EXIT_FAILURE, EXIT_OK, UsageError, parseVerbArgs } from './command';
import { writeSweptNote } from './sweptNote';

const HELP = `Usage: trac-backup prune <backup-folder> [--keep-last N] [--keep-daily N]
                           [--keep-weekly N] [--keep-monthly N]
                           [--environment <env>] [--dry-run] [--json]

Deletes the backups in <backup-folder> that no rule keeps, and lists what stays
and what goes, with the reasons. As in restic and borg, --keep-daily N keeps
the newest backup of each of the last N days that have one (likewise ISO weeks,
Monday to Sunday, and months; in local time); --keep-last N the N newest. A
backup kept by any rule stays. Each environment's backups are counted on their
own (an environment is a machine and a path or folder: another machine's
backups in a shared folder are not this one's, and backups made before and
after the environment was renamed are one set). Never deleted: backups made before a restore
(*.before-restore-*), backups whose metadata cannot be read, copies without
trac-backup metadata, folders that changed since they were made (an environment
put back from a backup with tar), and anything that is not a backup. Deleting a
backup never harms another, even where they share files through hard links.

Options:
  --keep-last N        Keep the N newest backups
  --keep-daily N       Keep the newest backup of each of the last N days
  --keep-weekly N      Keep the newest backup of each of the last N weeks
  --keep-monthly N     Keep the newest backup of each of the last N months
  --environment <env>  Only the backups of this environment (by its path or its
                       folder, renamed since or not), made on this machine
  --dry-run            List what would be deleted; delete nothing
  --json               Print the result as one JSON object on standard output
  -h, --help           Show this help
`;

const RULES = {
  'keep-last': 'keepLast',
  'keep-daily': 'keepDaily',
  'keep-weekly': 'keepWeekly',
  'keep-monthly': 'keepMonthly',
} as const;

export const pruneCommand: CliCommand = {
  name: 'prune',
  summary: 'Delete the backups a retention policy does not keep',
  help: HELP,
  async run(args, context) {
    const { values, positionals } = parseVerbArgs(
      'prune',
      args,
      {
        'keep-last': { type: 'string' },
        'keep-daily': { type: 'string' },
        'keep-weekly': { type: 'string' },
        'keep-monthly': { type: 'string' },
        environment: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
      },
      {
        count: 1,
        what: 'the folder that holds the backups',
      },
    );
    const policy: RetentionPolicy = {};
    for (const [flag, option] of Object.entries(RULES) as Array<[keyof typeof RULES, keyof RetentionPolicy]>) {
      const text = values[flag];
      if (text !== undefined) {
        if (!/^\d+$/.test(text)) {
          throw new UsageError(`--${flag} must be a whole number ≥ 0, not '${text}'`, 'prune');
        }
        policy[option] = Number(text);
      }
    }
    if (!hasRetentionRule(policy)) {
      throw new UsageError('prune needs at least one --keep-… rule above 0 (without one, every backup is kept)', 'prune');
    }
    const result = await pruneBackups(positionals[0], policy, {
      dryRun: values['dry-run'],
      environment: values.environment,
      signal: context.signal,
    });
    result.swept.forEach((swept) => writeSweptNote(context.stderr, swept));
    if (values.json) {
      context.stdout.write(`${JSON.stringify(toJson(result))}\n`);
    } else {
      report(result, context);
    }
    if (result.failed.length > 0) {
      const [first] = result.failed;
      context.stderr.write(
        `trac-backup: ${plural(result.failed.length, 'backup')} could not be deleted ` +
          `(${first.path}: ${first.error}); the others were.\n`,
      );
      return EXIT_FAILURE;
    }
    if (result.cancelled) {
      context.stderr.write(`trac-backup: pruning was interrupted after ${result.removed.length} deletions; every backup left is whole.\n`);
      return EXIT_CANCELLED;
    }
    return EXIT_OK;
  },
};

function report(result: PruneResult, context: CliContext): void {
  const rows = [
    ...result.keep.map((decision) => ['keep', decision] as const),
    ...result.remove.map((decision) => [result.dryRun ? 'would remove' : 'remove', decision] as const),
  ].sort(([, a], [, b]) => b.backup.createdAt.getTime() - a.backup.createdAt.getTime());
  const width = Math.max(0, ...rows.map(([, decision]) => decision.backup.name.length));
  const actionWidth = Math.max(...rows.map(([action]) => action.length), 4);
  for (const [action, decision] of rows) {
    context.stdout.write(
      `${action.padEnd(actionWidth)}  ${decision.backup.name.padEnd(width)}  ${localDateTime(decision.backup.createdAt, { seconds: false })}  ${decision.reasons.join(', ')}\n`,
    );
  }
  const count = (n: number) => plural(n, 'backup');
  context.stdout.write(
    result.dryRun
      ? `Dry run: ${count(result.remove.length)} would be deleted from ${result.folder}, ${result.keep.length} kept; nothing was deleted.\n`
      : `Deleted ${count(result.removed.length)} from ${result.folder}; ${result.keep.length} kept.\n`,
  );
}

function toJson(result: PruneResult) {
  const decision = ({ backup, reasons }: RetentionDecision<PruneBackup>) => ({
    path: backup.path,
    name: path.basename(backup.path),
    createdAt: backup.createdAt.toISOString(),
    reasons,
  });
  return { ...result, keep: result.keep.map(decision), remove: result.remove.map(decision) };
}
