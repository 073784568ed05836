/**
 * Unpacks an archive with withExtractedArchive in a child process and stays inside it, for a
 * test to kill. Usage: node unpackChild.js <archive> <tempParent>. Prints the unpacked
 * environment's path once it is there, then waits to be killed.
 */
import { withExtractedArchive } from '../../src/core/archive/extractArchive';

async function main(): Promise<void> {
  const [archive, tempParent] = process.argv.slice(2);
  await withExtractedArchive(
    archive,
    async (root) => {
      process.stdout.write(`unpacked ${root}\n`);
      await new Promise(() => setInterval(() => {}, 60_000));
    },
    { tempParent },
  );
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`unpackChild: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  });
}
