/** Runs fn on every item, at most `limit` at a time; the first failure stops the rest and is thrown. */
export async function runPool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker));
  const rejection = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (rejection) {
    throw rejection.reason;
  }
}

/**
 * Returns a function to await between small synchronous steps: it lets the event loop run
 * (I/O, timers, a cancel request) once `sliceMs` have passed since it last did.
 */
export function yielder(sliceMs = 10): () => Promise<void> {
  let sliceStarted = performance.now();
  return async () => {
    if (performance.now() - sliceStarted >= sliceMs) {
      await new Promise((resolve) => setImmediate(resolve));
      sliceStarted = performance.now();
    }
  };
}
