import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CancelledError } from '../shared/errors';
import { OffsiteRepository, PASSWORD_VARIABLES, ResticOutput } from './resticRepository';
import { findRestic } from './resticProgram';
import { resticError } from './resticErrors';

/** How long restic gets to stop after SIGINT (it removes its lock), then after SIGTERM, before SIGKILL. */
export const STOP_GRACE_MS = { interrupt: 10_000, terminate: 5_000 };

export interface ResticRun {
  /** restic's arguments after the global ones (`backup --json .`): never a secret. */
  args: string[];
  signal?: AbortSignal;
  /** Each line of standard output that is a JSON object, as it comes (restic's --json messages). */
  onJson?: (message: Record<string, unknown>) => void;
  cwd?: string;
  /** What was being done, for a cancelled run's message ("The send"). */
  what?: string;
  /** An exit other than 0 that is not a failure for this command (backup's 3: a snapshot, some files unread). */
  okExit?: (output: ResticOutput) => boolean;
  /** Called with the child's pid once it runs (tests kill it). */
  onSpawn?: (pid: number) => void;
}

/**
 * Runs restic on the repository and returns its output when it exits 0; throws the
 * TracBackupError resticError makes of its output otherwise. A cancel sends SIGINT (restic stops
 * where it is and removes its lock: the repository stays consistent, as after any interruption,
 * since restic only writes new files and a snapshot last), then SIGTERM and SIGKILL after a grace
 * period, and throws CancelledError once restic is gone.
 */
export async function runRestic(repository: OffsiteRepository, run: ResticRun): Promise<ResticOutput> {
  const program = await findRestic(repository.restic, repository.env);
  const password = repository.password === undefined ? undefined : await writePasswordFile(repository.password);
  try {
    const env: NodeJS.ProcessEnv = { ...(repository.env ?? process.env), RESTIC_REPOSITORY: repository.location };
    delete env.RESTIC_REPOSITORY_FILE;
    if (password) {
      PASSWORD_VARIABLES.forEach((name) => delete env[name]);
      env.RESTIC_PASSWORD_FILE = password.file;
    }
    const args = [...(repository.options ?? []).flatMap((option) => ['-o', option]), ...run.args];
    const output = await spawnRestic(program, args, env, run);
    if (output.code !== 0 && !run.okExit?.(output)) {
      throw resticError(output, repository, run.args[0] ?? '');
    }
    return output;
  } finally {
    await password?.remove();
  }
}

function spawnRestic(program: string, args: string[], env: NodeJS.ProcessEnv, run: ResticRun): Promise<ResticOutput> {
  const { signal } = run;
  if (signal?.aborted) {
    return Promise.reject(new CancelledError(run.what));
  }
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { env, cwd: run.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let pending = '';
    const timers: NodeJS.Timeout[] = [];
    const stop = () => {
      child.kill('SIGINT');
      timers.push(setTimeout(() => child.kill('SIGTERM'), STOP_GRACE_MS.interrupt));
      timers.push(setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS.interrupt + STOP_GRACE_MS.terminate));
    };
    signal?.addEventListener('abort', stop, { once: true });
    if (child.pid !== undefined) {
      run.onSpawn?.(child.pid);
    }
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        stdout += `${line}\n`;
        emitJson(line, run.onJson);
      }
    });
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', (error) => {
      signal?.removeEventListener('abort', stop);
      timers.forEach(clearTimeout);
      reject(error);
    });
    child.on('close', (code, killedBy) => {
      signal?.removeEventListener('abort', stop);
      timers.forEach(clearTimeout);
      if (pending) {
        stdout += pending;
        emitJson(pending, run.onJson);
      }
      if (signal?.aborted) {
        reject(new CancelledError(run.what));
      } else {
        resolve({ stdout, stderr: killedBy ? `${stderr}\nrestic was stopped by ${killedBy}` : stderr, code: code ?? 1 });
      }
    });
  });
}

function emitJson(line: string, onJson: ResticRun['onJson']): void {
  if (!onJson || !line.startsWith('{')) {
    return;
  }
  try {
    const message: unknown = JSON.parse(line);
    if (message && typeof message === 'object') {
      onJson(message as Record<string, unknown>);
    }
  } catch {
    // restic writes a few lines that are not JSON even with --json: they are not progress
  }
}

/**
 * The password in a file only this user can read, in a private temporary folder, for
 * RESTIC_PASSWORD_FILE: never on a command line (ps shows those to everyone), never in a
 * child's environment (which lingers in /proc for the child's life). Removed when restic is done.
 */
async function writePasswordFile(password: string): Promise<{ file: string; remove: () => Promise<void> }> {
  const folder = await fs.mkdtemp(path.join(os.tmpdir(), 'trac-backup-restic-'));
  await fs.chmod(folder, 0o700);
  const file = path.join(folder, 'password');
  await fs.writeFile(file, password, { mode: 0o600, flag: 'wx' });
  return { file, remove: () => fs.rm(folder, { recursive: true, force: true }) };
}
