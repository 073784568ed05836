import { unlockStaleLocks } from '../core';
import { CliCommand, EXIT_OK, parseVerbArgs } from './command';
import { OFFSITE_HELP, OFFSITE_OPTIONS, cliRepository } from './offsiteOptions';
import { writeResult } from './progressBar';

const HELP = `Usage: trac-backup offsite-unlock <repository> [--restic <path>] [-o k=v]… [--json]

Removes the stale locks of a restic repository (restic unlock): those whose
process is gone from its machine (a send killed with kill -9, a machine that
crashed) or older than 30 minutes. A live process's lock is never removed.

Options:
${OFFSITE_HELP}`;

export const offsiteUnlockCommand: CliCommand = {
  name: 'offsite-unlock',
  summary: 'Remove the stale locks of a restic repository',
  help: HELP,
  async run(args, context) {
    const { values, positionals } = parseVerbArgs('offsite-unlock', args, OFFSITE_OPTIONS, { count: 1, what: 'the restic repository' });
    const result = await unlockStaleLocks(cliRepository(positionals[0], values), { signal: context.signal });
    writeResult(context, values.json, result, () => context.stdout.write(`Removed the stale locks of ${result.repository}, if any.\n`));
    return EXIT_OK;
  },
};
