import { constants } from 'node:os';

/**
 * The signals that stop a run the way Ctrl-C does (cancel, clean up, exit 128 + the number):
 * SIGINT, SIGTERM (cron's `timeout`, `kill`) and SIGHUP (a closed terminal; on Windows also a
 * closed console window, which libuv reports as SIGHUP); on Windows also SIGBREAK (Ctrl-Break).
 */
export function stopSignalsFor(platform: NodeJS.Platform): NodeJS.Signals[] {
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  return platform === 'win32' ? [...signals, 'SIGBREAK'] : signals;
}

/** SIGBREAK's number on Windows, where os.constants has it; elsewhere it is never received. */
const SIGBREAK_NUMBER = 21;

/** What a shell reports for a process that signal ended: 128 + its number. */
export function exitCodeFor(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? (signal === 'SIGBREAK' ? SIGBREAK_NUMBER : 0));
}
