import { whileLocked } from '../core';
import type { OffsiteRepository } from '../core';
import type { CliContext } from './command';

/** The options every offsite verb takes: where restic is, and restic's extended options. */
export const OFFSITE_OPTIONS = {
  restic: { type: 'string' },
  option: { type: 'string', short: 'o', multiple: true },
  wait: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
} as const;

/** The lines of --help for OFFSITE_OPTIONS, and what the verbs read from the environment. */
export const OFFSITE_HELP = `  --restic <path>      The restic program (default: restic on PATH; 0.14 or newer)
  -o, --option k=v     A restic extended option, e.g. -o 'sftp.command=ssh -p 2222
                       backup@host -s sftp' (repeatable; never put secrets here)
  --wait               When another restic process holds the repository's lock,
                       wait for it (checking every 5 s; Ctrl-C stops waiting)
  --json               Print the result as one JSON object on standard output
  -h, --help           Show this help

<repository> is restic's: a folder, sftp:user@host:/path, s3:…, b2:…, rest:…,
azure:…, gs:… or rclone:…. The password comes from restic's own variables:
RESTIC_PASSWORD_FILE (a file holding it), RESTIC_PASSWORD_COMMAND or
RESTIC_PASSWORD; a backend's credentials likewise (AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, B2_ACCOUNT_ID, B2_ACCOUNT_KEY, …). They are handed to
restic in its environment, never on a command line, and never printed; the
repository is given to restic as RESTIC_REPOSITORY, and shown without the
user and password a URL may hold.
`;

/** The repository as the command line names it; the password and credentials stay in restic's variables. */
export function cliRepository(location: string, values: { restic?: string; option?: string[] }): OffsiteRepository {
  return { location, ...(values.restic && { restic: values.restic }), ...(values.option && { options: values.option }) };
}

/**
 * Runs an offsite verb's work; with --wait, while another live restic holds the lock, says so
 * once on stderr and tries again until it goes through (or Ctrl-C).
 */
export function withLockWait<T>(values: { wait?: boolean }, context: CliContext, work: () => Promise<T>): Promise<T> {
  if (!values.wait) {
    return work();
  }
  let said = false;
  return whileLocked(work, {
    signal: context.signal,
    onWaiting: (message) => {
      if (!said) {
        context.stderr.write(`note: ${message.replace(/: wait for it to finish.*$/, '')}: waiting for it (Ctrl-C stops)\n`);
        said = true;
      }
    },
  });
}
