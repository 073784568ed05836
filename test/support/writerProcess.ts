import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import * as path from 'node:path';
import type { WriterConfig, WriterSummary } from './tracWriter';

export interface WriterHandle {
  /** Asks the writer to stop and returns what it measured. */
  stop(): Promise<WriterSummary>;
}

/**
 * Starts tracWriter in a child process (this Node, so Node 22 with a working better-sqlite3)
 * and resolves once it has made its first write.
 */
export async function startWriter(config: WriterConfig, script = path.join(__dirname, 'tracWriter.js')): Promise<WriterHandle> {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [script, JSON.stringify(config)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const messages: Array<{ type: string }> = [];
  const waiters: Array<() => void> = [];
  let buffered = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    buffered += text;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      messages.push(JSON.parse(buffered.slice(0, newline)) as { type: string });
      buffered = buffered.slice(newline + 1);
      waiters.splice(0).forEach((wake) => wake());
    }
  });
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      resolve(code);
      waiters.splice(0).forEach((wake) => wake());
    }),
  );
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  const waitFor = async (type: string): Promise<{ type: string }> => {
    for (;;) {
      const found = messages.find((message) => message.type === type);
      if (found) {
        return found;
      }
      if (exitCode !== undefined) {
        throw new Error(`the writer exited (${exitCode}) before '${type}': ${stderr.trim()}`);
      }
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  await waitFor('ready');
  return {
    async stop() {
      child.stdin.end('stop\n');
      const summary = (await waitFor('summary')) as WriterSummary;
      await exited;
      return summary;
    },
  };
}
