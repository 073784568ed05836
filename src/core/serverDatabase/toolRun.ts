import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CancelledError, TracBackupError } from '../shared/errors';
import { ServerDatabaseLocation } from '../trac/databaseUrl';
import { passwordEnvironment, withoutSecret } from './secrets';

export interface ToolRunOptions {
  /** Writes the tool's stdout to this file (created 0600). */
  stdoutFile?: string;
  /** Called with each chunk of stdout, before it is written. */
  onStdout?: (chunk: Buffer) => void;
  /** Text for the tool's stdin (SQL: never in argv). */
  stdin?: string | Readable;
  signal?: AbortSignal;
  /** What the tool is doing, for messages: "dumping the database". */
  doing: string;
  extraEnv?: Record<string, string>;
}

export interface ToolRun {
  /** The child's pid (the tests look at its argv). */
  pid?: number;
  done: Promise<{ stdout: string }>;
}

/**
 * Runs a database tool with the password in its environment only (see secrets.ts); rejects with
 * a DUMP_FAILED error naming what failed and the tool's own words, the password removed.
 */
export function runTool(tool: string, args: string[], location: ServerDatabaseLocation, options: ToolRunOptions): ToolRun {
  const env = { ...process.env, ...passwordEnvironment(location), ...options.extraEnv };
  if (location.password === undefined) {
    delete env.PGPASSWORD;
    delete env.MYSQL_PWD;
  }
  const child = spawn(tool, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  const onAbort = () => child.kill('SIGTERM');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    if (stderr.length < 64 * 1024) stderr += text;
  });
  if (options.onStdout) {
    child.stdout.on('data', options.onStdout);
  }
  const written = options.stdoutFile
    ? pipeline(child.stdout, createWriteStream(options.stdoutFile, { mode: 0o600 }))
    : new Promise<void>((resolve) => {
        child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
        child.stdout.on('end', resolve);
      });
  child.stdin.on('error', () => undefined);
  if (typeof options.stdin === 'string') {
    child.stdin.end(options.stdin);
  } else if (options.stdin) {
    options.stdin.pipe(child.stdin);
  } else {
    child.stdin.end();
  }
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  const done = (async () => {
    try {
      const [code] = await Promise.all([exited, written]);
      if (options.signal?.aborted) {
        throw new CancelledError();
      }
      if (code !== 0) {
        const words = withoutSecret(stderr.trim().split('\n').slice(-3).join(' '), location);
        throw new TracBackupError('DUMP_FAILED', `${tool} failed ${options.doing} (exit ${code}): ${words || 'no message'}`, tool);
      }
      return { stdout };
    } catch (error) {
      if (error instanceof TracBackupError) throw error;
      throw new TracBackupError('DUMP_FAILED', `${tool} failed ${options.doing}: ${withoutSecret(String(error), location)}`, tool, {
        cause: error,
      });
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
  })();
  return { pid: child.pid, done };
}
