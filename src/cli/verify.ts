import * as path from 'node:path';
import {
  describeError,
  formatBytes,
  formatDuration,
  plural,
  recordVerification,
  TracBackupError,
  verificationStoreFile,
  verifyBackup,
} from '../core';
import { CliCommand, EXIT_OK, parseVerbArgs } from './command';
import { withProgressBar } from './progressBar';

const HELP = `Usage: trac-backup verify <backup> [--deep] [--json]

Checks a backup without changing it: that it is a Trac environment (VERSION,
conf/trac.ini), that its SQLite database passes PRAGMA integrity_check, that
each attachment row has its file under files/attachments, and, for a backup
made by trac-backup, that every file has the size and SHA-256
recorded in its metadata, with nothing missing and nothing added. A plain
trac-admin hotcopy folder (no metadata) gets the checks that need none.
Lists every problem with its path; exits 0 only when there is none. The result
is recorded for this user (as the extension records its own): hotcopy
--incremental links only from a backup that passed verification since it was
made.

A PostgreSQL or MySQL/MariaDB backup's dump is checked without a server (its
checksum; pg_restore --list reads a custom-format dump; an SQL dump ends as a
complete one does). With --deep it is also restored into a scratch database on
the server the backup's trac.ini names, which is dropped afterwards, and
Trac's tables, database_version and attachment rows are checked there (the
user needs CREATEDB on PostgreSQL, CREATE on MySQL).

Options:
  --deep         Also restore a server database's dump into a scratch database
  --json         Print the result as one JSON object on standard output
  -h, --help     Show this help
`;

export const verifyCommand: CliCommand = {
  name: 'verify',
  summary: 'Check that a backup is whole: database, files and checksums',
  help: HELP,
  async run(args, context) {
    const { values, positionals } = parseVerbArgs(
      'verify',
      args,
      { json: { type: 'boolean', default: false }, deep: { type: 'boolean', default: false } },
      {
        count: 1,
        what: 'the backup folder',
      },
    );
    const result = await withProgressBar(context, ({ onProgress }) =>
      verifyBackup(positionals[0], { signal: context.signal, onProgress, deep: values.deep }),
    );
    if (result.vanished) {
      // Nothing was checked to the end: nothing to record, nothing to list.
      if (values.json) {
        context.stdout.write(`${JSON.stringify(result)}\n`);
      }
      throw new TracBackupError(
        'SOURCE_UNREADABLE',
        `${result.backup} ${result.problems[0].problem}: it was not verified. Verify it where it is now, if it was moved.`,
        result.backup,
      );
    }
    await recordVerification(result).catch((error: unknown) =>
      context.stderr.write(
        `trac-backup: note: the result could not be recorded in ${verificationStoreFile()} (${describeError(error)}).\n`,
      ),
    );
    if (values.json) {
      context.stdout.write(`${JSON.stringify(result)}\n`);
    } else {
      for (const problem of result.problems) {
        context.stdout.write(`${problem.path === '.' ? result.backup : path.join(result.backup, problem.path)}: ${problem.problem}\n`);
      }
      for (const note of result.notes) {
        context.stdout.write(`note: ${note}\n`);
      }
      if (result.ok) {
        const database = result.database.path ? `; database passes ${result.database.check}` : '';
        context.stdout.write(
          `${result.backup} is whole: ${result.checkedFiles} files (${formatBytes(result.checkedBytes)}) checked${database}, ` +
            `in ${formatDuration(result.durationMs)}.\n`,
        );
      }
    }
    if (!result.ok) {
      const count = result.problems.length;
      throw new TracBackupError(
        'BACKUP_DAMAGED',
        `${result.backup} failed verification: ${plural(count, 'problem')}` +
          `${values.json ? '' : ' (listed above)'}. Don't restore it: choose another backup, or make a new one.`,
        result.backup,
      );
    }
    return EXIT_OK;
  },
};
