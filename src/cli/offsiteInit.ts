import { initRepository } from '../core';
import { CliCommand, EXIT_OK, parseVerbArgs } from './command';
import { OFFSITE_HELP, OFFSITE_OPTIONS, cliRepository } from './offsiteOptions';
import { writeResult } from './progressBar';

const HELP = `Usage: trac-backup offsite-init <repository> [--restic <path>] [-o k=v]… [--json]

Makes a new restic repository at <repository> (restic init), encrypted with the
password restic's variables give. Keep the password: without it the
repository's data cannot be read by anyone, you included.

Options:
${OFFSITE_HELP}`;

export const offsiteInitCommand: CliCommand = {
  name: 'offsite-init',
  summary: 'Make a new restic repository (restic init)',
  help: HELP,
  async run(args, context) {
    const { values, positionals } = parseVerbArgs('offsite-init', args, OFFSITE_OPTIONS, { count: 1, what: 'the restic repository' });
    const result = await initRepository(cliRepository(positionals[0], values), { signal: context.signal });
    writeResult(context, values.json, result, () => context.stdout.write(`Made a restic repository at ${result.repository}.\n`));
    return EXIT_OK;
  },
};
