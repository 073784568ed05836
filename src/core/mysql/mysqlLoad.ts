import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { ServerDatabaseLocation } from '../trac/databaseUrl';
import { findTool } from '../serverDatabase/dumpTools';
import { passwordEnvironment, withoutSecret } from '../serverDatabase/secrets';
import { TracBackupError } from '../shared/errors';
import { mysqlConnectionArgs } from './mysqlDump';

/**
 * Loads an SQL dump into `database` with the server's own client, which reads the file itself
 * (not through this process: a restore killed meanwhile leaves a partly loaded scratch database,
 * which the next run removes, never a half-loaded live one).
 */
export async function loadMysqlDump(
  dump: string,
  target: ServerDatabaseLocation,
  database: string,
  configuredDump?: string,
): Promise<void> {
  const client = await findTool('mysql', 'shell', configuredDump);
  const args = [...mysqlConnectionArgs(target), '--default-character-set=utf8mb4', database];
  const fd = openSync(dump, 'r');
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(client, args, { env: { ...process.env, ...passwordEnvironment(target) }, stdio: [fd, 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr?.setEncoding('utf8').on('data', (text: string) => (stderr += text));
      child.on('error', reject);
      child.on('close', (code) =>
        code === 0
          ? resolve()
          : reject(
              new TracBackupError(
                'RESTORE_FAILED',
                `${client} failed loading the backup into ${database} (exit ${code}): ${withoutSecret(stderr.trim(), target)}`,
                target.display,
              ),
            ),
      );
    });
  } finally {
    closeSync(fd);
  }
}
