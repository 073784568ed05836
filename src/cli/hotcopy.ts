import * as path from 'node:path';
import { newestBackupFor } from '../core/catalog/backupCatalog';
import { formatBytes, formatDuration } from '../core/shared/format';
import { HotcopyResult, hotcopy } from '../core/backup/hotcopy';
import { passedSinceMade, verificationOf } from '../core/catalog/verificationStore';
import { CliCommand, CliContext, EXIT_OK, UsageError, parseVerbArgs } from './command';
import { ProgressBar } from './progressBar';
import { writeSweptNote } from './sweptNote';

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
    const { values, positionals } = parseVerbArgs('hotcopy', args, {
      'no-database': { type: 'boolean', default: false },
      'link-dest': { type: 'string' },
      incremental: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    }, {
      count: 2,
      what: 'the environment folder and a destination that does not exist yet',
    });
    if (values['link-dest'] !== undefined && values.incremental) {
      throw new UsageError('give either --link-dest or --incremental, not both', 'hotcopy');
    }
    const [environment, destination] = positionals;
    const base = values.incremental
      ? await incrementalBase(environment, path.dirname(path.resolve(destination)))
      : values['link-dest'] !== undefined
        ? await explicitBase(values['link-dest'])
        : {};
    const bar = new ProgressBar(context.stderr);
    let result;
    try {
      result = await hotcopy(environment, destination, {
        includeDatabase: !values['no-database'],
        linkDest: base.linkDest,
        linkDestVerifiedAt: base.verifiedAt,
        signal: context.signal,
        onProgress: (event) => bar.update(event),
        onSwept: (swept) => {
          bar.clear();
          writeSweptNote(context.stderr, swept);
        },
      });
    } finally {
      bar.clear();
    }
    if (values.json) {
      context.stdout.write(`${JSON.stringify(base.note ? { ...result, linkDestNote: base.note } : result)}\n`);
    } else {
      report(environment, result, context);
      if (base.note) {
        context.stdout.write(`note: ${base.note}\n`);
      }
    }
    return EXIT_OK;
  },
};

/** The backup an incremental backup links from, when its last passed verification began, and what to tell. */
interface LinkBase {
  linkDest?: string;
  verifiedAt?: string;
  note?: string;
}

/**
 * --incremental: the newest backup of this environment (on this machine) in the destination's
 * folder that passed verification since it was made, as the extension picks it; a backup nobody
 * verified may hold rot that every later backup would share through its links.
 */
async function incrementalBase(environment: string, folder: string): Promise<LinkBase> {
  const verifiedAt = new Map<string, string>();
  const base = await newestBackupFor(folder, environment, async (backup) => {
    const record = await verificationOf(backup.path);
    if (passedSinceMade(record)) {
      verifiedAt.set(backup.path, record.verifiedAt);
      return true;
    }
    return false;
  });
  if (base) {
    return { linkDest: base.path, verifiedAt: verifiedAt.get(base.path) };
  }
  const newest = await newestBackupFor(folder, environment);
  return {
    note: newest
      ? `no backup of ${environment} in ${folder} passed verification since it was made, so this is a full backup; ` +
        `run 'trac-backup verify ${newest.path}' (or verify each new backup) to let the next --incremental link from it.`
      : `no earlier backup of ${environment} in ${folder}, so this is a full backup.`,
  };
}

/** --link-dest: as given; linked files are trusted without reading them only when it passed verification since it was made. */
async function explicitBase(linkDest: string): Promise<LinkBase> {
  const record = await verificationOf(linkDest);
  return passedSinceMade(record)
    ? { linkDest, verifiedAt: record.verifiedAt }
    : { linkDest, note: `${path.resolve(linkDest)} did not pass verification since it was made: each file linked from it was first compared with its checksum.` };
}

function report(environment: string, result: HotcopyResult, context: CliContext): void {
  const linked = result.incremental
    ? ` (${formatBytes(result.copiedBytes)} new in ${result.copiedFiles} files; ${result.linkedFiles} unchanged files linked from ${result.linkDest})`
    : '';
  context.stdout.write(
    `Backed up ${environment} to ${result.dest}: ${result.files} files, ${formatBytes(result.bytes)}${linked} in ` +
      `${formatDuration(result.durationMs)}; Trac's writers held for ${formatDuration(result.lockMs)}` +
      `${result.databaseIncluded ? '' : ' (database left out)'}.\n`,
  );
  if (result.linkFallback) {
    context.stdout.write(`note: ${result.linkFallback}\n`);
  }
  if (result.linkDestDamaged) {
    context.stdout.write(`note: ${result.linkDestDamaged}\n`);
  }
}
