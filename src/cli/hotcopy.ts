import { parseArgs } from 'node:util';
import { formatBytes, formatDuration } from '../core/format';
import { hotcopy } from '../core/hotcopy';
import { CliCommand, EXIT_OK, UsageError } from './command';
import { ProgressBar } from './progressBar';

const HELP = `Usage: trac-backup hotcopy <environment> <destination> [--no-database] [--json]

Backs up a live Trac environment into <destination>, a new folder that Trac can
open as is. The database is copied as one consistent snapshot, and the
attachment files agree with it; Trac's writers wait only for that snapshot,
not for the whole copy. <destination> must not exist (its parent folders are
made); nothing is left behind on failure or Ctrl-C.

Options:
  --no-database  Leave the database out (as trac-admin hotcopy --no-database)
  --json         Print the result as one JSON object on standard output
  -h, --help     Show this help
`;

export const hotcopyCommand: CliCommand = {
  name: 'hotcopy',
  summary: 'Back up a live Trac environment into a new folder',
  help: HELP,
  async run(args, context) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        'no-database': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
      },
    });
    if (positionals.length !== 2) {
      throw new UsageError(
        positionals.length < 2
          ? 'hotcopy needs the environment folder and a destination that does not exist yet'
          : `hotcopy takes two folders, got ${positionals.length}: ${positionals.join(' ')}`,
        'hotcopy',
      );
    }
    const [environment, destination] = positionals;
    const bar = new ProgressBar(context.stderr);
    let result;
    try {
      result = await hotcopy(environment, destination, {
        includeDatabase: !values['no-database'],
        signal: context.signal,
        onProgress: (event) => bar.update(event),
      });
    } finally {
      bar.clear();
    }
    if (values.json) {
      context.stdout.write(`${JSON.stringify(result)}\n`);
    } else {
      context.stdout.write(
        `Backed up ${environment} to ${result.dest}: ${result.files} files, ${formatBytes(result.bytes)} in ` +
          `${formatDuration(result.durationMs)}; Trac's writers held for ${formatDuration(result.lockMs)}` +
          `${result.databaseIncluded ? '' : ' (database left out)'}.\n`,
      );
    }
    return EXIT_OK;
  },
};
