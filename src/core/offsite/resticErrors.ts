import * as os from 'node:os';
import { TracBackupError } from '../shared/errors';
import { processAlive } from '../work/workOwner';
import { OffsiteRepository, ResticOutput, shownLocation } from './resticRepository';

/** restic counts a lock older than this as stale, whoever holds it (restic's own rule). */
const STALE_LOCK_MS = 30 * 60_000;

/** Who holds the lock that stopped restic, as restic said it. */
export interface ResticLockHolder {
  pid: number;
  host: string;
  user: string;
  /** When the lock was made, as restic printed it (local time). */
  since: string;
  /**
   * True when restic would call the lock stale: its process is gone from this machine, or it is
   * older than 30 minutes. `restic unlock` removes only such locks.
   */
  stale: boolean;
}

/** The repository is locked by another restic (a backup, a prune, a check, or one killed). */
export class OffsiteLockedError extends TracBackupError {
  constructor(
    message: string,
    readonly holder: ResticLockHolder,
    location: string,
  ) {
    super('OFFSITE_LOCKED', message, location);
  }
}

/**
 * What restic's failure means, as a TracBackupError that names the repository (never its
 * password or a URL's credentials) and says what to do: restic missing is found before it runs;
 * here, a repository not initialised, a wrong or missing password, a lock held by another
 * process (who, since when, and whether it is stale), a repository out of reach, or restic's own
 * last words.
 */
export function resticError(output: ResticOutput, repository: OffsiteRepository, command: string): TracBackupError {
  const where = shownLocation(repository.location);
  const text = output.stderr;
  if (/wrong password or no key found/i.test(text)) {
    return new TracBackupError(
      'OFFSITE_WRONG_PASSWORD',
      `The password for the offsite repository ${where} is wrong (restic found no key it opens): give the repository's password ` +
        '(the extension asks again; the command line reads RESTIC_PASSWORD_FILE, RESTIC_PASSWORD_COMMAND or RESTIC_PASSWORD).',
      where,
    );
  }
  if (/empty password is not a password|reading repository password from stdin|resolving password failed|password is empty/i.test(text)) {
    return new TracBackupError(
      'OFFSITE_WRONG_PASSWORD',
      `No password was given for the offsite repository ${where}: set RESTIC_PASSWORD_FILE (a file holding it), ` +
        "RESTIC_PASSWORD_COMMAND or RESTIC_PASSWORD (the extension asks for it and keeps it in VS Code's secret storage).",
      where,
    );
  }
  const locked =
    /repository is already locked (?:exclusively )?by PID (\d+) on (\S+) by ([^\n(]+?)\s*(?:\(UID[^)]*\))?\s*\n\s*lock was created at ([^(\n]+?)\s*\(/i.exec(
      text,
    );
  if (locked) {
    const [, pid, host, user, since] = locked;
    const createdMs = Date.parse(since.replace(' ', 'T'));
    const onThisMachine = host.toLowerCase() === os.hostname().toLowerCase();
    const stale = (onThisMachine && !processAlive(Number(pid))) || (Number.isFinite(createdMs) && Date.now() - createdMs > STALE_LOCK_MS);
    const holder: ResticLockHolder = { pid: Number(pid), host, user: user.trim(), since: since.trim(), stale };
    const who = `restic process ${holder.pid} on ${holder.host} (user ${holder.user}) since ${holder.since}`;
    return new OffsiteLockedError(
      stale
        ? `The offsite repository ${where} is locked by ${who}, which is gone: the lock is stale. Remove it ` +
            `(trac-backup offsite-unlock ${where}; restic unlock removes stale locks only), then try again.`
        : `The offsite repository ${where} is locked by ${who}: wait for it to finish, then try again (the command line's --wait waits for it).`,
      holder,
      where,
    );
  }
  if (
    /Is there a repository at the following location|unable to open config file|config: no such file|config file does not exist/i.test(text)
  ) {
    return new TracBackupError(
      'OFFSITE_NOT_INITIALISED',
      `There is no restic repository at ${where}: initialise one there (trac-backup offsite-init ${where}, or restic init), ` +
        'or correct the location.',
      where,
    );
  }
  if (
    /unable to start the sftp session|ssh command exited|connection refused|no route to host|network is unreachable|no such host|i\/o timeout|connection reset|connection timed out|TLS handshake timeout|could not resolve|Temporary failure in name resolution/i.test(
      text,
    )
  ) {
    return new TracBackupError(
      'OFFSITE_UNREACHABLE',
      `The offsite repository ${where} cannot be reached (${lastWords(text, repository)}): check the network, the host and its ` +
        'credentials (for SFTP, that ssh to the host works without a prompt), then try again.',
      where,
    );
  }
  return new TracBackupError(
    'OFFSITE_FAILED',
    `restic ${command} failed on the offsite repository ${where} (exit ${output.code}): ${lastWords(text, repository)}.`,
    where,
  );
}

/**
 * restic's most telling line (its Fatal: line, else its last), without anything a secret could be
 * in: the password itself, should restic ever print it, and URL credentials.
 */
function lastWords(text: string, repository: OffsiteRepository): string {
  const lines = text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  const fatal = lines.find((line) => line.startsWith('Fatal:'));
  let words = (fatal ?? lines[lines.length - 1] ?? 'no message').replace(/^Fatal:\s*/, '').replace(/\.$/, '');
  if (repository.password) {
    words = words.split(repository.password).join('***');
  }
  words = words.split(repository.location).join(shownLocation(repository.location));
  return shownLocation(words);
}
