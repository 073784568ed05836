import { execFile } from 'node:child_process';
import { promises as fs, constants } from 'node:fs';
import * as path from 'node:path';
import { TracBackupError } from '../shared/errors';

/** The oldest restic whose commands and JSON this tool uses (Debian 12's). */
export const RESTIC_MINIMUM = '0.14.0';

/** How to install restic, per system: the same words for the CLI and the extension. */
export const RESTIC_INSTALL =
  'install restic (Debian/Ubuntu: sudo apt install restic; Fedora: sudo dnf install restic; ' +
  'macOS: brew install restic; Windows: winget install restic.restic or scoop install restic), ' +
  'or say where it is (the setting tracBackup.offsite.resticPath, or --restic for the command line)';

/** Programs found and checked, by what was asked for: restic's version is read once per path. */
const checked = new Map<string, Promise<string>>();

/**
 * The restic program to run: `configured` (a path, as the setting or --restic gives it) or the
 * first `restic` on PATH, once its version says it is at least RESTIC_MINIMUM. Refuses, saying how
 * to install it, when there is none, and names the path when it is not a restic that runs.
 */
export function findRestic(configured?: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const key = `${configured ?? ''}\0${env.PATH ?? ''}`;
  let found = checked.get(key);
  if (!found) {
    found = locate(configured, env).then(checkVersion);
    found.catch(() => checked.delete(key));
    checked.set(key, found);
  }
  return found;
}

async function locate(configured: string | undefined, env: NodeJS.ProcessEnv): Promise<string> {
  if (configured) {
    const program = path.resolve(configured);
    if (!(await isExecutable(program))) {
      throw new TracBackupError(
        'RESTIC_MISSING',
        `restic is not at ${program} (or it cannot be run): correct the path, or ${RESTIC_INSTALL.replace(/, or say where.*$/, '')}.`,
        program,
      );
    }
    return program;
  }
  const names = process.platform === 'win32' ? ['restic.exe', 'restic'] : ['restic'];
  for (const folder of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    for (const name of names) {
      const candidate = path.join(folder, name);
      if (await isExecutable(candidate)) {
        return candidate;
      }
    }
  }
  throw new TracBackupError('RESTIC_MISSING', `restic was not found on PATH: ${RESTIC_INSTALL}.`);
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    const stats = await fs.stat(file);
    await fs.access(file, process.platform === 'win32' ? constants.F_OK : constants.X_OK);
    return stats.isFile();
  } catch {
    return false;
  }
}

async function checkVersion(program: string): Promise<string> {
  const output = await new Promise<string>((resolve) => {
    execFile(program, ['version'], { timeout: 30_000 }, (error, stdout) => resolve(error ? '' : stdout));
  });
  const version = /restic (\d+)\.(\d+)\.(\d+)/.exec(output);
  if (!version) {
    throw new TracBackupError(
      'RESTIC_MISSING',
      `${program} is not a restic that runs ('${program} version' failed): ${RESTIC_INSTALL}.`,
      program,
    );
  }
  const [major, minor, patch] = version.slice(1).map(Number);
  const [needMajor, needMinor, needPatch] = RESTIC_MINIMUM.split('.').map(Number);
  const older = major - needMajor || minor - needMinor || patch - needPatch;
  if (older < 0) {
    throw new TracBackupError(
      'RESTIC_MISSING',
      `${program} is restic ${version.slice(1).join('.')}; ${RESTIC_MINIMUM} or newer is needed: ${RESTIC_INSTALL}.`,
      program,
    );
  }
  return program;
}
