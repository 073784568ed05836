// Another process holding a SQLite database's write lock (as a Trac writing would), until released.
import { spawnTracked } from './processes.mjs';

const HOLD =
  'import sqlite3, sys\nc = sqlite3.connect(sys.argv[1], isolation_level=None)\nc.execute("BEGIN EXCLUSIVE")\nprint("locked", flush=True)\nsys.stdin.read()';

/** Resolves once the lock is held; release() ends the holder (it is killed with the test process too). */
export async function holdDatabaseLock(database) {
  const child = spawnTracked('/usr/bin/python3', ['-c', HOLD, database], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    child.stdout.once('data', resolve);
    child.once('exit', (code) => reject(new Error(`the lock holder exited (${code})`)));
  });
  return {
    release: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', resolve);
        child.stdin.end();
      }),
  };
}
