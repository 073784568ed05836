import * as path from 'node:path';
import { chooseLinkBase, formatBytes, formatDuration, hotcopy, namedLinkBase } from '../core';
import type { HotcopyResult } from '../core';
import { CliCommand, CliContext, EXIT_OK, UsageError, parseVerbArgs } from './command';
import { withProgressBar, writeResult } from './progressBar';

const HELP = `Usage: trac-backup hotcopy <environment> <destination> [--link-dest <backup> | --incremental]
                            [--no-database] [--json]

Backs up a live Trac environment into <destination>, a new folder that Trac can
open as is. The database is copied as one consistent snapshot, and the
attachment files agree with it; Trac's writers wait only for that snapshot,
not for the whole copy. <destination> must not exist (its parent folders are
made); nothing is left behind on failure or Ctrl-C. The backup's files are
read-only; its metadata keeps their original modes. Run as root, every file
keeps its owner and group (an environment of www-data stays www-data's).

Options:
  --link-dest <backup>  Incremental: hard-link the files unchanged since
                        <backup> (an earlier backup of the same environment)
                        instead of copying them; the database is always copied.
                        Each backup stays complete: deleting one never harms
                        another. Copies where links are impossible (another disk)
                        and a file whose content no longer matches its checksum
  --incremental         The same, from the newest backup of this environment in
                        the destination's folder that passed 'trac-backup verify'
                        since it was made (a full backup when there is none)
  --no-database         Leave the database out (as trac-admin hotcopy --no-database)
  --json                Print the result as one JSON object on standard output
  -h, --help            Show this help
`;

export const hotcopyCommand: CliCommand = {
  name: 'hotcopy',
  summary: 'Back up a live Trac environment into a new folder',
  help: HELP,
  async run(args, context) {
    const { values, positionals } = parseVerbArgs(
      'hotcopy',
      args,
      {
        'no-database': { type: 'boolean', default: false },
        'link-dest': { type: 'string' },
        incremental: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
      },
      {
        count: 2,
        what: 'the environment folder and a destination that does not exist yet',
      },
    );
    if (values['link-dest'] !== undefined && values.incremental) {
      throw new UsageError('give either --link-dest or --incremental, not both', 'hotcopy');
    }
    const [environment, destination] = positionals;
    const base = values.incremental
      ? await chooseLinkBase(environment, path.dirname(path.resolve(destination)))
      : values['link-dest'] !== undefined
        ? await namedLinkBase(values['link-dest'])
        : {};
    const result = await withProgressBar(context, ({ onProgress, onSwept }) =>
      hotcopy(environment, destination, {
        includeDatabase: !values['no-database'],
        linkDest: base.linkDest,
        linkDestVerifiedAt: base.verifiedAt,
        signal: context.signal,
        onProgress,
        onSwept,
      }),
    );
    writeResult(context, values.json, base.note ? { ...result, linkDestNote: base.note } : result, () => {
      report(environment, result, context);
      if (base.note) {
        context.stdout.write(`note: ${base.note}\n`);
      }
    });
    return EXIT_OK;
  },
};

function report(environment: string, result: HotcopyResult, context: CliContext): void {
  const linked = result.incremental
    ? ` (${formatBytes(result.copiedBytes)} new in ${result.copiedFiles} files; ${result.linkedFiles} unchanged files linked from ${result.linkDest})`
    : '';
  context.stdout.write(
    `Backed up ${environment} to ${result.dest}: ${result.files} files, ${formatBytes(result.bytes)}${linked} in ` +
      `${formatDuration(result.durationMs)}; Trac's writers held for ${formatDuration(result.lockMs)}` +
      `${result.databaseIncluded ? '' : ' (database left out)'}.\n`,
  );
  if (result.clonedFiles > 0) {
    context.stdout.write(
      `${result.clonedFiles} files (${formatBytes(result.clonedBytes)}) share their blocks with the environment's (copy-on-write clones).\n`,
    );
  }
  if (result.linkFallback) {
    context.stdout.write(`note: ${result.linkFallback}\n`);
  }
  if (result.lockingWarning) {
    context.stderr.write(`warning: ${result.lockingWarning}\n`);
  }
  if (result.linkDestDamaged) {
    context.stdout.write(`note: ${result.linkDestDamaged}\n`);
  }
}
