import { SweptWork } from '../core';
import { CliStream } from './command';

/** One `note:` line on standard error for each piece of dead work a verb cleaned up before it started. */
export function writeSweptNote(stderr: CliStream, swept: SweptWork): void {
  stderr.write(`note: ${swept.detail} (${swept.path})\n`);
}
