import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import {
  databaseInsideNote,
  formatBytes,
  formatDuration,
  isArchivePath,
  plural,
  restore,
  restoreFromArchive,
  RestoreOptions,
  RestorePlan,
  RestoreResult,
  serverRestoreLines,
  TracBackupError,
} from '../core';
import { CliCommand, CliContext, EXIT_FAILURE, EXIT_OK, parseVerbArgs } from './command';
import { canAsk, confirm } from './confirm';
import { withProgressBar, writeResult } from './progressBar';

const HELP = `Usage: trac-backup restore <backup> <environment> [--yes] [--force] [--database-url URL] [--in-place] [--json]

<backup> is a backup folder or a .tar.gz archive of one (trac-backup archive).
Restores a backup (made by trac-backup, or a trac-admin hotcopy folder) to
<environment>, whole or not at all. The backup is checked first (a damaged one
is refused). A missing <environment> is created. An existing one is replaced
only after you confirm: it is moved aside to
<environment>.before-restore-YYYYMMDD-HHMMSS and kept, never deleted. The copy
is built and checked beside it, then swapped in with two renames. A database
that was outside the environment (an absolute sqlite: path) goes back to its
own path only when <environment> exists and its trac.ini names that file;
anywhere else (a new folder, a restore drill) it is restored inside the new
environment, where the backup's trac.ini points, and the path it was backed
up from is not touched. Folders every environment has (htdocs, log, plugins,
templates) are made where the backup lacks them. Run as root, files get the
owners the backup records.

A backup of a PostgreSQL or MySQL/MariaDB environment (its dump in db/, or a
trac-admin hotcopy's db/postgres-db-backup.sql.gz or db/mysql-db-backup.sql)
is restored into the database <environment>'s trac.ini names (else the
backup's), or the one --database-url names, which the restored trac.ini then
names. The data there is kept aside (PostgreSQL: the schema renamed to
<schema>_before_restore_YYYYMMDD_HHMMSS in the one transaction that loads the
backup; MySQL: the tables moved to <database>_before_restore_YYYYMMDD_HHMMSS
with one RENAME TABLE). Other connections to that database are refused (named)
unless --force.

An archive is unpacked, with every check against hostile archives, into a
hidden folder beside <environment>, checked, and moved into place: the disk
of <environment> needs room for the archive's backup once (plus the archive,
wherever it is).

Options:
  -y, --yes      Replace an existing environment without asking (needed when
                 there is no terminal to ask on)
  --force        Restore even when Trac seems to be using the environment (a
                 locked database, a tracd naming it), or when the folder there
                 is not a Trac environment
  --database-url URL
                 Restore a server database into URL (postgres://… or mysql://…:
                 moving to another server or database) instead
  --in-place     Restore a server database in place (drop, then load) when the
                 user may not create the aside schema or database: not atomic,
                 the old data is not kept, and a restore stopped midway leaves a
                 partial database
  --json         Print the result as one JSON object on standard output
  -h, --help     Show this help
`;

export const restoreCommand: CliCommand = {
  name: 'restore',
  summary: 'Restore a backup over an environment, keeping the old one aside',
  help: HELP,
  async run(args, context) {
    const { values, positionals } = parseVerbArgs(
      'restore',
      args,
      {
        yes: { type: 'boolean', short: 'y', default: false },
        force: { type: 'boolean', default: false },
        'database-url': { type: 'string' },
        'in-place': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
      },
      {
        count: 2,
        what: 'the backup (a folder or a .tar.gz) and the environment folder to restore to',
      },
    );
    const [backup, environment] = positionals;
    let declined = false;
    let result: RestoreResult;
    try {
      result = await withProgressBar(context, (progress) => {
        const { onProgress } = progress;
        const options: RestoreOptions = {
          replace: values.yes,
          force: values.force,
          databaseUrl: values['database-url'],
          inPlace: values['in-place'],
          signal: context.signal,
          onProgress,
          // Asked only once the backup checked out and no Trac was found using the environment.
          confirm: confirmOnTerminal(context, progress, () => (declined = true)),
        };
        return isArchive(backup).then((archive) =>
          archive
            ? restoreFromArchive(backup, environment, {
                ...options,
                onProgress,
                onSwept: (folder) =>
                  context.stderr.write(`note: removed ${folder}, an unpacked archive left by a restore that was stopped\n`),
              })
            : restore(backup, environment, options),
        );
      });
    } catch (error) {
      if (declined) {
        context.stderr.write(`trac-backup: not restored; ${path.resolve(environment)} was not changed.\n`);
        return EXIT_FAILURE;
      }
      throw error;
    }
    writeResult(context, values.json, result, () => report(result, context));
    return EXIT_OK;
  },
};

/** A .tar.gz that is not a folder (a missing one too: the archive restore says it does not exist). */
async function isArchive(backup: string): Promise<boolean> {
  const isFolder = await fs.stat(backup).then(
    (stats) => stats.isDirectory(),
    () => false,
  );
  return !isFolder && isArchivePath(backup);
}

/** What would be replaced, in words: the environment, and the database its trac.ini names when that goes back too. */
/**
 * The restore's question asked on the terminal (the progress bar cleared first); without a terminal,
 * a refusal that says to pass --yes. `onDeclined` hears a No.
 */
export function confirmOnTerminal(context: CliContext, progress: { clear(): void }, onDeclined: () => void) {
  return async (plan: RestorePlan): Promise<boolean> => {
    progress.clear();
    if (!canAsk(context)) {
      throw new TracBackupError(
        'TARGET_EXISTS',
        `${replacedWhat(plan)}; there is no terminal to ask on: pass --yes to confirm.`,
        plan.environment,
      );
    }
    const yes = await confirm(question(plan), context);
    if (!yes) {
      onDeclined();
    }
    return yes;
  };
}

function replacedWhat(plan: RestorePlan): string {
  const parts = [
    plan.aside ? `${plan.environment} exists and restoring replaces it (kept as ${plan.aside})` : undefined,
    plan.database?.aside ? `the database ${plan.database.file} (kept as ${plan.database.aside})` : undefined,
    plan.serverDatabase?.holdsNow
      ? `the database ${plan.serverDatabase.display}${plan.serverDatabase.aside ? ` (kept as ${plan.serverDatabase.aside})` : ''}`
      : undefined,
  ].filter(Boolean);
  return parts.length > 0 ? parts.join(' and ') : `Restoring to ${plan.environment} needs a yes`;
}

function question(plan: RestorePlan): string {
  const lines = [`Restore ${plan.backup} (made ${new Date(plan.backupCreatedAt).toLocaleString()}) to ${plan.environment}?`];
  if (plan.aside) {
    lines.push(`It replaces ${plan.replaced.files} files (${formatBytes(plan.replaced.bytes)}) there, which are kept in ${plan.aside}.`);
  }
  if (plan.database?.aside) {
    lines.push(`It replaces the database ${plan.database.file}, which is kept as ${plan.database.aside}.`);
  }
  if (plan.databaseInside) {
    lines.push(databaseInsideNote(plan.databaseInside, false));
  }
  if (plan.serverDatabase) {
    lines.push(...serverRestoreLines(plan.serverDatabase));
  }
  for (const warning of plan.warnings) {
    lines.push(`Warning: ${warning}`);
  }
  const changes = plan.changedSinceBackup;
  if (changes?.changed) {
    const counted = (count: number, what: string) => (count ? [plural(count, what)] : []);
    const what = [...counted(changes.tickets, 'ticket'), ...counted(changes.wikiPages, 'wiki page')].join(' and ');
    const latest = changes.latest ? `, the latest ${new Date(changes.latest).toLocaleString()}` : '';
    lines.push(
      `The environment changed after the backup (${what}${latest}): those changes will not be in the restored ` +
        'environment; they stay in the kept copy.',
    );
  }
  return lines.join('\n');
}

export function report(result: RestoreResult, context: CliContext): void {
  const out = (line: string) => context.stdout.write(`${line}\n`);
  for (const leftover of result.leftovers) {
    out(`note: ${leftover.detail} (${leftover.path})`);
  }
  out(
    `Restored ${result.backup} to ${result.env}: ${result.files} files, ${formatBytes(result.bytes)} in ${formatDuration(result.durationMs)}.` +
      (result.aside ? ` The previous environment is kept in ${result.aside}.` : ''),
  );
  if (result.database) {
    out(
      `Restored the database ${result.database.file}` +
        (result.database.aside ? `; the previous one is kept as ${result.database.aside}.` : '.'),
    );
  }
  for (const note of result.notes) {
    out(`note: ${note}`);
  }
  if (result.madeFolders.length) {
    out(
      `note: made ${result.madeFolders.map((folder) => `${folder}/`).join(', ')}, which every Trac environment has and the backup lacked.`,
    );
  }
  for (const warning of result.warnings) {
    out(`warning: ${warning}`);
  }
}
