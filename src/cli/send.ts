import { formatBytes, formatDuration, sendToOffsite } from '../core';
import { CliCommand, EXIT_OK, parseVerbArgs } from './command';
import { OFFSITE_HELP, OFFSITE_OPTIONS, cliRepository, withLockWait } from './offsiteOptions';
import { withProgressBar, writeResult } from './progressBar';

const HELP = `Usage: trac-backup send <backup> <repository> [--restic <path>] [-o k=v]… [--json]

Sends a backup folder made by trac-backup to a restic repository, as one
snapshot of its content, tagged trac-backup, env:<the environment's identity:
a hash of its machine and path>, project:<its name>, backup:<the folder's
name> and bytes:<its size>, dated when the backup was made. Snapshots of many
environments can share one repository: restic deduplicates them, so a second
send of a backup where little changed adds little. A backup is sent only once
it is known good: if it has not passed a verification since it was made, it is
verified first, and a damaged one is refused. Ctrl-C stops restic; the
repository stays consistent (restic writes a snapshot last).

Options:
${OFFSITE_HELP}`;

export const sendCommand: CliCommand = {
  name: 'send',
  summary: 'Send a backup to a restic repository (offsite)',
  help: HELP,
  async run(args, context) {
    const { values, positionals } = parseVerbArgs('send', args, OFFSITE_OPTIONS, {
      count: 2,
      what: 'the backup folder and the restic repository',
    });
    const [backup, location] = positionals;
    const result = await withProgressBar(context, ({ onProgress }) =>
      withLockWait(values, context, () => sendToOffsite(backup, cliRepository(location, values), { signal: context.signal, onProgress })),
    );
    writeResult(context, values.json, result, () => {
      context.stdout.write(
        `Sent ${result.backup} to ${result.repository} as snapshot ${result.snapshot}: ${result.files} files, ` +
          `${formatBytes(result.bytes)} (${result.filesNew} new, ${result.filesChanged} changed, ${result.filesUnmodified} unchanged); ` +
          `restic added ${formatBytes(result.bytesAdded)} in ${formatDuration(result.durationMs)}.\n`,
      );
    });
    return EXIT_OK;
  },
};
