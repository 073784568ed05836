import { formatBytes, listOffsiteSnapshots, localDateTime } from '../core';
import { CliCommand, EXIT_OK, parseVerbArgs } from './command';
import { OFFSITE_HELP, OFFSITE_OPTIONS, cliRepository, withLockWait } from './offsiteOptions';
import { writeResult } from './progressBar';

const HELP = `Usage: trac-backup offsite-list <repository> [--environment <env>]
                           [--restic <path>] [-o k=v]… [--json]

Lists the snapshots 'trac-backup send' made in a restic repository, newest
first: id, when the backup was made, its size, project, backup and machine.
Other snapshots in the repository are left out.

Options:
  --environment <env>  Only the snapshots of this environment (this machine, its path)
${OFFSITE_HELP}`;

export const offsiteListCommand: CliCommand = {
  name: 'offsite-list',
  summary: 'List the snapshots sent to a restic repository',
  help: HELP,
  async run(args, context) {
    const { values, positionals } = parseVerbArgs(
      'offsite-list',
      args,
      { ...OFFSITE_OPTIONS, environment: { type: 'string' } },
      { count: 1, what: 'the restic repository' },
    );
    const snapshots = await withLockWait(values, context, () =>
      listOffsiteSnapshots(cliRepository(positionals[0], values), { environment: values.environment, signal: context.signal }),
    );
    writeResult(context, values.json, { snapshots }, () => {
      for (const snapshot of snapshots) {
        context.stdout.write(
          `${snapshot.shortId}  ${localDateTime(new Date(snapshot.time))}  ${(snapshot.bytes === undefined ? '' : formatBytes(snapshot.bytes)).padStart(8)}  ` +
            `${snapshot.projectName ?? ''}  ${snapshot.backupName ?? ''}  ${snapshot.host}\n`,
        );
      }
      if (snapshots.length === 0) {
        context.stdout.write('No snapshot sent by trac-backup.\n');
      }
    });
    return EXIT_OK;
  },
};
