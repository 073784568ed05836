// The entry of the thread that checks a backup's database (see databaseCheckThread.ts): it runs
// checkDatabaseFile once, with what workerData says, and posts the result.
import { parentPort, workerData } from 'node:worker_threads';
import { DatabaseCheckKind, checkDatabaseFile } from './databaseCheck';

interface CheckRequest {
  file: string;
  kind: DatabaseCheckKind;
  withAttachments: boolean;
}

const request = workerData as CheckRequest;
parentPort?.postMessage(checkDatabaseFile(request.file, request.kind, { withAttachments: request.withAttachments }));
