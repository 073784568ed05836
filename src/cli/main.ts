import { describeError, isCancelled, sqliteRuntime, TOOL_NAME, TOOL_VERSION, TracBackupError } from '../core';
import { CliCommand, CliContext, EXIT_CANCELLED, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from './command';
import { archiveCommand } from './archive';
import { hotcopyCommand } from './hotcopy';
import { pruneCommand } from './prune';
import { restoreCommand } from './restore';
import { verifyCommand } from './verify';
import { sendCommand } from './send';
import { fetchCommand } from './fetch';
import { offsiteListCommand } from './offsiteList';
import { offsitePruneCommand } from './offsitePrune';
import { offsiteCheckCommand } from './offsiteCheck';
import { offsiteInitCommand } from './offsiteInit';
import { offsiteUnlockCommand } from './offsiteUnlock';

/** Every verb; a new one (restore, verify, archive, prune) is one file and one line here. */
const COMMANDS: readonly CliCommand[] = [
  hotcopyCommand,
  verifyCommand,
  restoreCommand,
  archiveCommand,
  pruneCommand,
  sendCommand,
  fetchCommand,
  offsiteListCommand,
  offsitePruneCommand,
  offsiteCheckCommand,
  offsiteInitCommand,
  offsiteUnlockCommand,
];

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length)) + 2;
  const list = COMMANDS.map((command) => `  ${command.name.padEnd(width)}${command.summary}`).join('\n');
  return `Usage: ${TOOL_NAME} <command> [options]

Commands:
${list}

Options:
  -h, --help     Show this help (${TOOL_NAME} <command> --help: help on a command)
  -V, --version  Print the version
  --runtime      Print the platform, Node and the SQLite layer in use (better-sqlite3,
                 or Node's built-in node:sqlite where better-sqlite3 cannot load)

Exit status: 0 on success, 1 on failure (one line on standard error says why
and what to do), 2 for bad arguments, 128 + the signal's number when stopped
by Ctrl-C (130), SIGTERM (143) or SIGHUP (129), after cleaning up.
`;
}

/** Runs `trac-backup <args>` and returns the exit code; writes only to the context's streams. */
export async function runCli(args: string[], context: CliContext): Promise<number> {
  const [verb, ...rest] = args;
  if (verb === undefined || verb === '-h' || verb === '--help' || verb === 'help') {
    const topic = verb === 'help' ? COMMANDS.find((command) => command.name === rest[0]) : undefined;
    (verb === undefined ? context.stderr : context.stdout).write(topic?.help ?? mainHelp());
    return verb === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (verb === '-V' || verb === '--version') {
    context.stdout.write(`${TOOL_NAME} ${TOOL_VERSION}\n`);
    return EXIT_OK;
  }
  if (verb === '--runtime') {
    try {
      context.stdout.write(`${TOOL_NAME} ${TOOL_VERSION}: ${sqliteRuntime()}\n`);
      return EXIT_OK;
    } catch (error) {
      return fail(context, describeError(error), EXIT_FAILURE);
    }
  }
  const command = COMMANDS.find((candidate) => candidate.name === verb);
  if (!command) {
    return fail(context, `unknown command '${verb}'. Run '${TOOL_NAME} --help' for the list.`, EXIT_USAGE);
  }
  if (rest.includes('-h') || rest.includes('--help')) {
    context.stdout.write(command.help);
    return EXIT_OK;
  }
  try {
    return await command.run(rest, context);
  } catch (error) {
    return reportError(error, command, context);
  }
}

function reportError(error: unknown, command: CliCommand, context: CliContext): number {
  if (isCancelled(error)) {
    return fail(context, describeError(error), EXIT_CANCELLED);
  }
  if (error instanceof UsageError || isParseArgsError(error)) {
    // parseArgs adds a long hint about '--' after the first sentence: the first one is enough.
    const reason = describeError(error).split(/\.\s/)[0].replace(/\.$/, '');
    return fail(context, `${reason}. Run '${TOOL_NAME} ${command.name} --help'.`, EXIT_USAGE);
  }
  if (error instanceof TracBackupError) {
    return fail(context, error.message, EXIT_FAILURE);
  }
  if (process.env.TRAC_BACKUP_DEBUG) {
    context.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
  }
  return fail(
    context,
    `${describeError(error)} (unexpected: set TRAC_BACKUP_DEBUG=1 for details, and report it if it persists).`,
    EXIT_FAILURE,
  );
}

/** Errors are one line on stderr, whatever the message holds. */
function fail(context: CliContext, message: string, code: number): number {
  context.stderr.write(`${TOOL_NAME}: ${message.replace(/\s*\r?\n\s*/g, ' ')}\n`);
  return code;
}

function isParseArgsError(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}
