// The entry of the thread that checks a backup's database (see databaseCheckThread.ts): it runs
// checkDatabaseFile once, with what workerData says, and posts the result.
import { parentPort, workerData } from 'node:worker_threads';
import { DatabaseCheckKind, checkDatabaseFile } from './databaseCheck';
import { sqliteLayer } from './sqlite';
import type { SqliteLayerName } from './sqliteLayer';

interface CheckRequest {
  file: string;
  kind: DatabaseCheckKind;
  withAttachments: boolean;
  /** The parent's layer: a thread uses the same one. */
  layer: SqliteLayerName;
}

const request = workerData as CheckRequest;
sqliteLayer(request.layer);
parentPort?.postMessage(checkDatabaseFile(request.file, request.kind, { withAttachments: request.withAttachments }));
