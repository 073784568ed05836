import { exportArchive, formatBytes, formatDuration, isArchivePath } from '../core';
import { CliCommand, EXIT_OK, UsageError, parseVerbArgs } from './command';
import { withProgressBar, writeResult } from './progressBar';

const HELP = `Usage: trac-backup archive <backup> <file.tar.gz> [--json]

Writes a backup folder as a gzip-compressed tar file, to carry it off the
machine. Entries are relative to the backup folder, as 'tar czf <file> -C
<backup> .' would write them, except that files have the modes of the
environment they were backed up from (a backup keeps its own files read-only);
times and symbolic links are kept, and the backup's metadata goes with it.
'trac-backup restore <file.tar.gz> <environment>' restores from it;
'tar xzf <file.tar.gz> -C <new folder>' gives an environment Trac can open and
write to. <file.tar.gz> must not exist (its parent folders are made); it is
written under a temporary name and appears only once complete, readable by you
only.

Refused before anything is written: a backup holding a symbolic link that
leads outside it (a restore from the archive would refuse it: replace the link
by what it points to, or keep the backup folder), and a live environment (an
SQLite -wal, -shm or -journal beside its database, or Trac using it: make a
backup with 'trac-backup hotcopy' and archive that).

Options:
  --json         Print the result as one JSON object on standard output
  -h, --help     Show this help
`;

export const archiveCommand: CliCommand = {
  name: 'archive',
  summary: 'Write a backup as a .tar.gz file',
  help: HELP,
  async run(args, context) {
    const { values, positionals } = parseVerbArgs(
      'archive',
      args,
      { json: { type: 'boolean', default: false } },
      {
        count: 2,
        what: 'the backup folder and the .tar.gz file to write',
      },
    );
    const [backup, file] = positionals;
    if (!isArchivePath(file)) {
      throw new UsageError(`the archive's name must end in .tar.gz or .tgz, not '${file}'`, 'archive');
    }
    const result = await withProgressBar(context, ({ onProgress, onSwept }) =>
      exportArchive(backup, file, { signal: context.signal, onProgress, onSwept }),
    );
    if (result.permissionsWarning) {
      context.stderr.write(`warning: ${result.permissionsWarning}\n`);
    }
    writeResult(context, values.json, result, () => {
      context.stdout.write(
        `Archived ${result.backup} to ${result.archive}: ${result.files} files, ${formatBytes(result.bytes)} ` +
          `compressed to ${formatBytes(result.archiveBytes)} in ${formatDuration(result.durationMs)}.\n`,
      );
    });
    return EXIT_OK;
  },
};
