import { checkRepository, formatDuration } from '../core';
import { CliCommand, EXIT_FAILURE, EXIT_OK, parseVerbArgs } from './command';
import { OFFSITE_HELP, OFFSITE_OPTIONS, cliRepository, withLockWait } from './offsiteOptions';
import { writeResult } from './progressBar';

const HELP = `Usage: trac-backup offsite-check <repository> [--read-data <subset>]
                           [--restic <path>] [-o k=v]… [--json]

Runs restic check on the repository: its index and every snapshot's trees;
with --read-data, that share of the data too, read back and checked
(restic's --read-data-subset: 10%, 1/5, 500M). Exits 1 when restic finds errors.

Options:
  --read-data <subset> Also read back this share of the data
${OFFSITE_HELP}`;

export const offsiteCheckCommand: CliCommand = {
  name: 'offsite-check',
  summary: 'Check a restic repository (restic check)',
  help: HELP,
  async run(args, context) {
    const { values, positionals } = parseVerbArgs(
      'offsite-check',
      args,
      { ...OFFSITE_OPTIONS, 'read-data': { type: 'string' } },
      { count: 1, what: 'the restic repository' },
    );
    const result = await withLockWait(values, context, () =>
      checkRepository(cliRepository(positionals[0], values), { readData: values['read-data'], signal: context.signal }),
    );
    writeResult(context, values.json, result, () => {
      context.stdout.write(
        result.ok
          ? `${result.repository}: no errors were found (${formatDuration(result.durationMs)}).\n`
          : `${result.repository}: restic found errors:\n${result.problems.map((line) => `  ${line}`).join('\n')}\n`,
      );
    });
    if (!result.ok) {
      context.stderr.write(
        `trac-backup: the offsite repository ${result.repository} has errors (see above): run restic check there, and send new backups.\n`,
      );
      return EXIT_FAILURE;
    }
    return EXIT_OK;
  },
};
