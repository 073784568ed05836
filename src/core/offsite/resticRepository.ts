/**
 * An offsite repository as restic knows it, and how this tool hands it to restic. Nothing secret
 * goes on restic's command line: the location travels in RESTIC_REPOSITORY (a REST or S3 URL can
 * carry credentials), the password in a file readable by this user only (RESTIC_PASSWORD_FILE) or
 * in restic's own variables, and backend credentials (AWS_ACCESS_KEY_ID, B2_ACCOUNT_KEY, …) in
 * the environment restic inherits.
 */
export interface OffsiteRepository {
  /** restic's location: a folder, `sftp:user@host:/path`, `s3:…`, `rest:…`, `b2:…`, `azure:…`, `gs:…`, `rclone:…`. */
  location: string;
  /** The restic program (a path); unset: found on PATH. */
  restic?: string;
  /** restic's extended options, each `key=value` (`sftp.command=ssh -p 2222 backup@host -s sftp`): no secrets. */
  options?: string[];
  /**
   * The repository's password, when the caller holds it (the extension, from VS Code's
   * SecretStorage): given to restic through a private temporary file, removed afterwards. Unset:
   * restic reads RESTIC_PASSWORD_FILE, RESTIC_PASSWORD_COMMAND or RESTIC_PASSWORD from `env`.
   */
  password?: string;
  /** The environment restic runs with (default: this process's): backend variables pass through. */
  env?: NodeJS.ProcessEnv;
}

/** The variables that can hold a repository password: never printed, and replaced when `password` is given. */
export const PASSWORD_VARIABLES = ['RESTIC_PASSWORD', 'RESTIC_PASSWORD_FILE', 'RESTIC_PASSWORD_COMMAND'] as const;

/**
 * The location as messages show it: the user and password of a URL (`rest:https://user:secret@host/`,
 * `s3:https://key:secret@host/bucket`) are left out, whatever else it says.
 */
export function shownLocation(location: string): string {
  return location.replace(/(\/\/)[^/@\s]*@/g, '$1***@');
}

/** What a restic run printed, and how it exited. */
export interface ResticOutput {
  stdout: string;
  stderr: string;
  code: number;
}
