import * as assert from 'node:assert/strict';
import { TracBackupError } from '../../src/core/shared/errors';

/** For assert.rejects: a TracBackupError with this code whose one-line message contains every fragment. */
export function refusal(code: string, ...fragments: string[]) {
  return (error: unknown) => {
    assert.ok(error instanceof TracBackupError, `expected a TracBackupError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    for (const fragment of fragments) {
      assert.ok(error.message.includes(fragment), `"${error.message}" should contain "${fragment}"`);
    }
    assert.ok(!error.message.includes('\n'), 'one line');
    return true;
  };
}
