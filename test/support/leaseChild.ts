/**
 * Takes a lease in a child process, for tests of what other processes see. Usage:
 * node leaseChild.js <environment> <kind> [hold [file]]: prints "held" or "busy <message>"; with
 * "hold" it keeps the lease until killed or until its stdin closes (holding `file` open, as a
 * backup holds the environment's files), else it releases at once.
 */
import { openSync } from 'node:fs';
import { acquireLease, LeaseKind } from '../../src/core/work/lease';

async function main(): Promise<void> {
  const [environment, kind, hold, file] = process.argv.slice(2);
  let lease;
  try {
    lease = await acquireLease(environment, kind as LeaseKind);
  } catch (error) {
    process.stdout.write(`busy ${(error as Error).message}\n`);
    return;
  }
  if (file) {
    openSync(file, 'r');
  }
  process.stdout.write('held\n');
  if (hold === 'hold') {
    await new Promise<void>((resolve) => {
      process.stdin.on('data', () => undefined);
      process.stdin.on('end', resolve);
      process.stdin.on('close', resolve);
    });
  }
  await lease.release();
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`leaseChild: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  });
}
