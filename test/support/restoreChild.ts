/**
 * Runs restore() in a child process for the kill test. Usage: node restoreChild.js '<json>'
 * with { backup, environment, replace?, killAtEvent? }. Prints one JSON line per progress event
 * ({"type":"progress","phase":…}) and {"type":"done",…} at the end. With killAtEvent = n, it
 * SIGKILLs itself on its n-th progress event: a death at an exact step, beside the test's own
 * kills at random instants.
 */
import { restore } from '../../src/core/restore/restore';

interface ChildConfig {
  backup: string;
  environment: string;
  replace?: boolean;
  killAtEvent?: number;
  databaseUrl?: string;
  force?: boolean;
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as ChildConfig;
  let events = 0;
  const result = await restore(config.backup, config.environment, {
    replace: config.replace ?? true,
    databaseUrl: config.databaseUrl,
    force: config.force,
    onProgress: (event) => {
      events += 1;
      process.stdout.write(`${JSON.stringify({ type: 'progress', phase: event.phase, events })}\n`);
      if (events === config.killAtEvent) {
        process.kill(process.pid, 'SIGKILL');
      }
    },
  });
  process.stdout.write(`${JSON.stringify({ type: 'done', events, aside: result.aside })}\n`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`restoreChild: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  });
}
