import { ChildProcess, spawn } from 'node:child_process';

/** A child process started by a test, and a way to wait for a line it prints. */
export interface StartedChild {
  child: ChildProcess;
  /** Resolves with the first stdout line for which `match` is true; rejects when the child exits first. */
  waitForLine(match: (line: string) => boolean): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

/** Starts `args` with this Node (Node 22, so better-sqlite3 loads) and reads its stdout by lines. */
export function startNode(args: string[], env: NodeJS.ProcessEnv = process.env): StartedChild {
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
  const lines: string[] = [];
  let buffered = '';
  let errors = '';
  const waiters: Array<() => void> = [];
  let done = false;
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    buffered += text;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      lines.push(buffered.slice(0, newline));
      buffered = buffered.slice(newline + 1);
    }
    waiters.splice(0).forEach((wake) => wake());
  });
  child.stderr.setEncoding('utf8').on('data', (text: string) => (errors += text));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => {
      done = true;
      waiters.splice(0).forEach((wake) => wake());
      resolve({ code, signal });
    }),
  );
  return {
    child,
    exited,
    stderr: () => errors,
    async waitForLine(match) {
      for (;;) {
        const found = lines.find(match);
        if (found !== undefined) {
          return found;
        }
        if (done) {
          throw new Error(`the child exited before printing the line awaited: ${errors.trim()}`);
        }
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    },
  };
}
