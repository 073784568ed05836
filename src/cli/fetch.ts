import * as path from 'node:path';
import { describeSnapshot, restoreFromOffsite, RestoreFromOffsiteResult } from '../core';
import { CliCommand, EXIT_FAILURE, EXIT_OK, parseVerbArgs } from './command';
import { OFFSITE_HELP, OFFSITE_OPTIONS, cliRepository, withLockWait } from './offsiteOptions';
import { withProgressBar, writeResult } from './progressBar';
import { confirmOnTerminal, report } from './restore';

const HELP = `Usage: trac-backup fetch <repository> <snapshot|latest> <environment>
                           [--yes] [--force] [--restic <path>] [-o k=v]… [--json]

Restores a snapshot that 'trac-backup send' made to <environment>. latest is
the newest snapshot of <environment> itself (this machine, that path); when the
repository has none of it (a restore on a new machine) and holds snapshots of
one environment only, the newest of those. restic brings the snapshot back
into a hidden folder beside <environment> (checking each file as it writes
it); then it is restored as a backup folder is: checked against its own
metadata and database, an existing environment replaced only after you
confirm and kept aside as <environment>.before-restore-YYYYMMDD-HHMMSS, whole
or not at all. The fetched copy is moved into place, not copied again: the
disk of <environment> needs room for the backup once. The hidden folder is
always removed (one left by a killed fetch is removed by the next one).

Options:
  -y, --yes            Replace an existing environment without asking
  --force              Restore even when Trac seems to be using the environment
${OFFSITE_HELP}`;

export const fetchCommand: CliCommand = {
  name: 'fetch',
  summary: 'Restore a snapshot from a restic repository over an environment',
  help: HELP,
  async run(args, context) {
    const { values, positionals } = parseVerbArgs(
      'fetch',
      args,
      { ...OFFSITE_OPTIONS, yes: { type: 'boolean', short: 'y', default: false }, force: { type: 'boolean', default: false } },
      { count: 3, what: 'the restic repository, the snapshot (an id, or latest) and the environment folder to restore to' },
    );
    const [location, snapshot, environment] = positionals;
    let declined = false;
    let result: RestoreFromOffsiteResult;
    try {
      result = await withProgressBar(context, (progress) =>
        withLockWait(values, context, () =>
          restoreFromOffsite(cliRepository(location, values), snapshot, environment, {
            replace: values.yes,
            force: values.force,
            signal: context.signal,
            onProgress: progress.onProgress,
            onSwept: progress.onSwept,
            onFetching: (chosen) => {
              if (context.stderr.isTTY) {
                progress.clear(); // restic 0.14 reports no progress of a restore: say what it is doing
                context.stderr.write(`Fetching snapshot ${chosen.shortId} (${describeSnapshot(chosen)})…\n`);
              }
            },
            confirm: confirmOnTerminal(context, progress, () => (declined = true)),
          }),
        ),
      );
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
