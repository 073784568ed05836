import { runCli } from './cli/main';

const controller = new AbortController();
process.once('SIGINT', () => {
  controller.abort();
  // A second Ctrl-C leaves at once, without waiting for the clean-up.
  process.once('SIGINT', () => process.exit(130));
});

runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, signal: controller.signal }).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`trac-backup: ${String(error)}\n`);
    process.exitCode = 1;
  },
);
