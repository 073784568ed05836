// Ways for the tests to run the command-line tool and read what it printed.
import * as assert from 'node:assert/strict';
import { SpawnSyncOptions, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { runCli } from '../../src/cli/main';
import { CliInput } from '../../src/cli/command';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The bundle `npm run build` makes, as a user runs it. */
export const BUILT_CLI = path.join(__dirname, '..', '..', '..', 'dist', 'cli.js');

/** Runs dist/cli.js in a child Node (stdin from a pipe, never a terminal). */
export function runBuiltCli(args: string[], options: SpawnSyncOptions = {}): CliRun {
  const result = spawnSync(process.execPath, [BUILT_CLI, ...args], { encoding: 'utf8', ...options });
  return { code: result.status, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/**
 * Runs the CLI in this process, with buffers for its output; stderrIsTTY makes it draw its
 * progress bar, stdin gives it something to read an answer from.
 */
export async function runCliCaptured(
  args: string[],
  { stdin, stderrIsTTY = false, onStderr }: { stdin?: CliInput; stderrIsTTY?: boolean; onStderr?: (text: string) => void } = {},
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: { write: (text: string) => (stdout += text), isTTY: false, columns: 100 },
    stderr: {
      write: (text: string) => {
        stderr += text;
        onStderr?.(text);
      },
      isTTY: stderrIsTTY,
      columns: 100,
    },
    stdin,
    signal: new AbortController().signal,
  });
  return { code, stdout, stderr };
}

/** The one line a failure prints, checked to be exactly one line. */
export function errorLine(stderr: string): string {
  const lines = stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, `one line on stderr, got: ${stderr}`);
  assert.match(lines[0], /^trac-backup: /);
  return lines[0];
}
