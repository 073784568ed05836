import { ParseArgsConfig, parseArgs } from 'node:util';
/** Where a command writes: process.stdout / process.stderr, or a test's buffers. */
export interface CliStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** Where a command reads an answer from: process.stdin, or a test's stream. */
export interface CliInput extends NodeJS.ReadableStream {
  isTTY?: boolean;
}

export interface CliContext {
  stdout: CliStream;
  stderr: CliStream;
  /** For questions (restore's y/N); a command that needs one refuses when it is not a terminal. */
  stdin?: CliInput;
  /** Fires on Ctrl-C: a command stops, cleans up and throws CancelledError. */
  signal: AbortSignal;
}

/** One verb of `trac-backup <verb> …`: each lives in its own file and is listed in main.ts. */
export interface CliCommand {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** The full text of `trac-backup <verb> --help`. */
  help: string;
  /** Returns the exit code. Throws UsageError for bad arguments, TracBackupError for refusals. */
  run(args: string[], context: CliContext): Promise<number>;
}

/** Bad arguments: exit code 2, with a pointer to --help. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
/** What a shell reports for a process stopped by Ctrl-C (128 + SIGINT). */
export const EXIT_CANCELLED = 130;

/**
 * Parses a verb's arguments strictly (an unknown option is a usage error) and checks that it got
 * exactly `operands.count` positional arguments, saying what they are (`operands.what`) when not.
 */
export function parseVerbArgs<T extends NonNullable<ParseArgsConfig['options']>>(
  verb: string,
  args: string[],
  options: T,
  operands: { count: number; what: string },
) {
  const parsed = parseArgs({ args: joinDashedValues(verb, args, options), allowPositionals: true, strict: true, options });
  const got = parsed.positionals.length;
  if (got < operands.count) {
    throw new UsageError(`${verb} needs ${operands.what}`, verb);
  }
  if (got > operands.count) {
    throw new UsageError(`${verb} takes ${operands.what}, got ${got} arguments: ${parsed.positionals.join(' ')}`, verb);
  }
  return parsed;
}

/**
 * `--keep-last -1`, `--link-dest -backup`: as getopt does, the word after an option that takes a
 * value is its value, even when it starts with a dash (parseArgs calls that ambiguous and stops).
 * It is joined as `--option=value`. When that word is itself one of the verb's options, the value
 * was forgotten: that is said, rather than an option taken for a path.
 */
function joinDashedValues(verb: string, args: string[], options: NonNullable<ParseArgsConfig['options']>): string[] {
  const takesValue = (name: string) => options[name]?.type === 'string';
  const byShort = new Map(Object.entries(options).flatMap(([name, option]) => (option.short ? [[option.short, name] as const] : [])));
  const isOption = (word: string) =>
    word === '-h' || word === '--help' || (word.startsWith('--') && word.slice(2).split('=')[0] in options) || byShort.has(word.slice(1));
  const joined: string[] = [];
  for (let index = 0; index < args.length; index++) {
    const word = args[index];
    if (word === '--') {
      joined.push(...args.slice(index));
      break;
    }
    const name = word.startsWith('--') ? word.slice(2) : word.length === 2 && word[0] === '-' ? byShort.get(word[1]) : undefined;
    const next = args[index + 1];
    if (name !== undefined && takesValue(name) && next !== undefined && next.startsWith('-') && next !== '-') {
      if (isOption(next)) {
        throw new UsageError(`--${name} needs a value (got the option ${next})`, verb);
      }
      joined.push(`--${name}=${next}`);
      index += 1;
    } else {
      joined.push(word);
    }
  }
  return joined;
}
