import * as assert from 'node:assert/strict';

/**
 * Runs an operation and aborts it the first time `when` says so; asserts that it then fails with
 * CANCELLED and a message matching `message`, and that the cancel point was reached. Returns the
 * phases seen, in order.
 */
export async function cancelWhen<Event extends { phase: string }>(
  start: (signal: AbortSignal, onProgress: (event: Event) => void) => Promise<unknown>,
  when: (event: Event) => boolean,
  message: RegExp,
  label = 'the operation',
): Promise<string[]> {
  const controller = new AbortController();
  const seen: string[] = [];
  await assert.rejects(
    start(controller.signal, (event) => {
      seen.push(event.phase);
      if (when(event)) {
        controller.abort();
      }
    }),
    (error: Error & { code?: string }) => {
      assert.equal(error.code, 'CANCELLED', error.message);
      assert.match(error.message, message);
      return true;
    },
  );
  assert.ok(controller.signal.aborted, `${label}: the cancel point was reached (saw ${[...new Set(seen)].join(', ')})`);
  return seen;
}
