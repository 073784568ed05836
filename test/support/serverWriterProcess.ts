import { spawn } from 'node:child_process';
import * as path from 'node:path';
import type { ServerWriterConfig, ServerWriterSummary } from './serverWriter';

export interface ServerWriterHandle {
  stop(): Promise<ServerWriterSummary>;
  pid: number;
}

/** Starts serverWriter in a child process; resolves once its first attachment is committed. */
export async function startServerWriter(config: ServerWriterConfig): Promise<ServerWriterHandle> {
  const child = spawn(process.execPath, [path.join(__dirname, 'serverWriter.js'), JSON.stringify(config)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  await new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      stdout += text;
      if (stdout.includes('"started"')) resolve();
    });
    void exited.then(() => reject(new Error(`the writer exited: ${stderr}`)));
  });
  const killAtExit = () => child.kill('SIGKILL');
  process.on('exit', killAtExit);
  return {
    pid: child.pid!,
    async stop() {
      child.stdin.end('stop\n');
      const code = await exited;
      process.off('exit', killAtExit);
      const line = stdout.split('\n').find((text) => text.includes('"summary"'));
      if (code !== 0 || !line) {
        throw new Error(`the writer failed (${code}): ${stderr}`);
      }
      return JSON.parse(line) as ServerWriterSummary;
    },
  };
}
