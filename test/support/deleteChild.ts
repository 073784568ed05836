/**
 * Deletes one backup with deleteBackup (what Delete Backup and prune use) in a child process,
 * for a test to kill midway. Usage: node deleteChild.js <backup>. Prints "deleting" as it
 * starts and "deleted" at the end.
 */
import { deleteBackup } from '../../src/core/catalog/prune';

async function main(): Promise<void> {
  process.stdout.write('deleting\n');
  await deleteBackup(process.argv[2]);
  process.stdout.write('deleted\n');
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`deleteChild: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  });
}
