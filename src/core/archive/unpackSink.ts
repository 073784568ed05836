import { Writable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import type { Unpack } from 'tar';

/** How long a stopped extraction may take to finish the writes it had started. */
const SETTLE_MS = 30_000;

/**
 * node-tar's Unpack as a Writable for stream.pipeline. The stream fails on the first error
 * Unpack reports (in strict mode, every warning is one) or as soon as `refusal()` says an
 * entry was refused, and finishes only once Unpack has written everything. `settle()` ends an
 * extraction that was stopped and waits for node-tar's writes in flight, so that nothing is
 * written after the caller removes the folder. What follows the archive's end is not passed on
 * (the ExpansionMeter before this still counts it).
 */
export function unpackSink(unpack: Unpack, refusal: () => Error | undefined): { sink: Writable; settle: () => Promise<void> } {
  let failure: Error | undefined;
  let waiting: ((error?: Error | null) => void) | undefined;
  let ended = false;
  // node-tar keeps whatever follows the end of the archive, copying it all again at each chunk.
  let sawEndOfArchive = false;
  unpack.once('eof', () => (sawEndOfArchive = true));
  const closed = new Promise<void>((resolve) => unpack.once('close', resolve));
  const problem = () => refusal() ?? failure ?? null;
  const release = () => {
    const callback = waiting;
    waiting = undefined;
    callback?.(problem());
  };
  unpack.on('error', (error: Error) => {
    failure ??= error;
    release();
  });
  unpack.on('drain', release);
  const end = () => {
    if (!ended) {
      ended = true;
      unpack.end();
    }
  };

  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (problem() || sawEndOfArchive) {
        callback(problem());
        return;
      }
      let flowing: boolean;
      try {
        flowing = unpack.write(chunk);
      } catch (error) {
        callback(error as Error);
        return;
      }
      if (problem() || flowing) {
        callback(problem());
      } else {
        waiting = callback;
      }
    },
    final(callback) {
      end();
      closed.then(() => callback(problem()), callback);
    },
  });
  const settle = async () => {
    end();
    await Promise.race([closed, delay(SETTLE_MS, undefined, { ref: false })]);
  };
  return { sink, settle };
}
