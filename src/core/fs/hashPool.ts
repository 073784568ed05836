import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/**
 * SHA-256 of files on worker threads: the main thread (the extension host's, or the CLI's event
 * loop) goes on copying while the bytes are hashed, and a 2-core machine hashes on the core the
 * copy leaves idle. Each thread reads the file itself (1 MiB at a time, straight from the page
 * cache after a copy) so no file's content crosses between threads.
 *
 * The thread's code is inline (`eval`), so that the bundles (extension, CLI, bench) need no
 * second file beside them.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const buffer = Buffer.allocUnsafe(1024 * 1024);
parentPort.on('message', ({ id, file }) => {
  let fd;
  try {
    fd = fs.openSync(file, 'r');
    const hash = createHash('sha256');
    let bytes = 0;
    for (;;) {
      const read = fs.readSync(fd, buffer, 0, buffer.length, null);
      if (read === 0) break;
      hash.update(buffer.subarray(0, read));
      bytes += read;
    }
    parentPort.postMessage({ id, sha256: hash.digest('hex'), bytes });
  } catch (error) {
    parentPort.postMessage({ id, error: { message: error.message, code: error.code, syscall: error.syscall, path: error.path } });
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
});
`;

export interface HashedFile {
  sha256: string;
  bytes: number;
}

interface Job {
  resolve: (result: HashedFile) => void;
  reject: (error: Error) => void;
}

interface HashWorker {
  worker: Worker;
  pending: Map<number, Job>;
}

/** Threads used: one per core beyond the main thread's, at least one, at most 4. */
export function hashThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

export class HashPool {
  private readonly workers: HashWorker[] = [];
  private nextId = 0;
  private next = 0;

  constructor(private readonly size = hashThreads()) {}

  /** The SHA-256 and length of what `file` holds when the thread reads it. */
  hash(file: string): Promise<HashedFile> {
    const slot = this.pick();
    const id = this.nextId++;
    return new Promise<HashedFile>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      // A thread waited on keeps the process alive; an idle one does not (see settle).
      slot.worker.ref();
      slot.worker.postMessage({ id, file });
    });
  }

  /** Starts the threads now (idle and unreferenced until a hash), so that the first files copied do not wait for them. */
  warmUp(): void {
    while (this.workers.length < this.size) {
      this.workers.push(this.start());
    }
  }

  /** Stops the threads (a pool is started again on the next hash). */
  async close(): Promise<void> {
    const workers = this.workers.splice(0);
    await Promise.all(workers.map(({ worker }) => worker.terminate()));
  }

  private pick(): HashWorker {
    if (this.workers.length < this.size) {
      const slot = this.start();
      this.workers.push(slot);
      return slot;
    }
    // The thread with the fewest files waiting; round robin among equals.
    let best = this.workers[this.next++ % this.workers.length];
    for (const slot of this.workers) {
      if (slot.pending.size < best.pending.size) {
        best = slot;
      }
    }
    return best;
  }

  private start(): HashWorker {
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    const slot: HashWorker = { worker, pending: new Map() };
    worker.on('message', (message: { id: number; sha256?: string; bytes?: number; error?: ErrnoLike }) => {
      const job = slot.pending.get(message.id);
      slot.pending.delete(message.id);
      if (slot.pending.size === 0) {
        worker.unref();
      }
      if (!job) {
        return;
      }
      if (message.error) {
        job.reject(errnoError(message.error));
      } else {
        job.resolve({ sha256: message.sha256!, bytes: message.bytes! });
      }
    });
    const failAll = (error: Error) => {
      const index = this.workers.indexOf(slot);
      if (index >= 0) {
        this.workers.splice(index, 1);
      }
      for (const job of slot.pending.values()) {
        job.reject(error);
      }
      slot.pending.clear();
    };
    worker.on('error', failAll);
    worker.on('exit', (code) => failAll(new Error(`the hashing thread stopped (exit code ${code})`)));
    // After the listeners: adding a 'message' listener refs the thread again.
    worker.unref();
    return slot;
  }
}

interface ErrnoLike {
  message: string;
  code?: string;
  syscall?: string;
  path?: string;
}

/** The thread's error as the main thread's fs would have thrown it (code, syscall, path), for fsErrors. */
function errnoError(like: ErrnoLike): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(like.message);
  error.code = like.code;
  error.syscall = like.syscall;
  error.path = like.path;
  return error;
}

let shared: HashPool | undefined;

/** The process's pool: threads start on the first hash and stay, idle and unreferenced, for the next. */
export function sharedHashPool(): HashPool {
  shared ??= new HashPool();
  return shared;
}
