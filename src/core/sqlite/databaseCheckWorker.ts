// The entry of the thread that checks a backup's database (see databaseCheckThread.ts): it loads
// the SQLite layer at once (the slow part of starting), then runs checkDatabaseFile once, with
// what the first message says, and posts the result.
import { parentPort, workerData } from 'node:worker_threads';
import { DatabaseCheckKind, checkDatabaseFile } from './databaseCheck';
import { sqliteLayer } from './sqlite';
import type { SqliteLayerName } from './sqliteLayer';

export interface CheckRequest {
  file: string;
  kind: DatabaseCheckKind;
  withAttachments: boolean;
}

/** The parent's layer: a thread uses the same one. */
sqliteLayer((workerData as { layer: SqliteLayerName }).layer);
parentPort?.once('message', (request: CheckRequest) => {
  parentPort?.postMessage(checkDatabaseFile(request.file, request.kind, { withAttachments: request.withAttachments }));
});
