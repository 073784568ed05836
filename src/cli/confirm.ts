import { createInterface } from 'node:readline';
import { CancelledError } from '../core';
import { CliContext } from './command';

/** True when there is a terminal to ask on. */
export function canAsk(context: CliContext): boolean {
  return context.stdin?.isTTY === true;
}

/**
 * Asks a yes/no question on the terminal (the question on stderr, so that stdout stays clean);
 * true only for "y" or "yes". Ctrl-C while waiting cancels.
 */
export async function confirm(question: string, context: CliContext): Promise<boolean> {
  const input = context.stdin;
  if (!input) {
    return false;
  }
  context.stderr.write(`${question} [y/N] `);
  const lines = createInterface({ input, terminal: false });
  let onAbort: (() => void) | undefined;
  try {
    const answer = await new Promise<string>((resolve, reject) => {
      onAbort = () => reject(new CancelledError('The restore'));
      context.signal.addEventListener('abort', onAbort, { once: true });
      lines.once('line', (line) => resolve(line));
      lines.once('close', () => resolve(''));
    });
    return /^\s*y(es)?\s*$/i.test(answer);
  } finally {
    context.signal.removeEventListener('abort', onAbort!);
    lines.close();
  }
}
