import { runCli } from './cli/main';
import { EXIT_CANCELLED } from './cli/command';
import { exitCodeFor, stopSignalsFor } from './cli/stopSignals';

/**
 * Ctrl-C, `kill` (cron's `timeout` sends SIGTERM), a closed terminal (SIGHUP) and, on Windows,
 * Ctrl-Break (SIGBREAK) and a closed console window (SIGHUP) all stop a run the same way: the
 * command cancels, removes what it had written and says so, and the process exits with 128 + the
 * signal's number, as a shell reports a process that signal ended. A second signal leaves at
 * once, without waiting for the clean-up.
 */
const STOP_SIGNALS = stopSignalsFor(process.platform);

const controller = new AbortController();
let received: NodeJS.Signals | undefined;

function onStopSignal(signal: NodeJS.Signals): void {
  if (received) {
    process.exit(exitCodeFor(received));
  }
  received = signal;
  controller.abort();
}

for (const signal of STOP_SIGNALS) {
  process.on(signal, onStopSignal);
}
// After a hangup the terminal is gone and writing to it fails: that must not end the process
// before it has cleaned up (nor must a closed pipe, as in `trac-backup … | head -1`).
process.stdout.on('error', () => undefined);
process.stderr.on('error', () => undefined);

runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, signal: controller.signal }).then(
  (code) => {
    process.exitCode = received && code === EXIT_CANCELLED ? exitCodeFor(received) : code;
  },
  (error: unknown) => {
    process.stderr.write(`trac-backup: ${String(error)}\n`);
    process.exitCode = 1;
  },
);
