import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exitCodeFor, stopSignalsFor } from '../../../src/cli/stopSignals';

describe('the signals that stop trac-backup cleanly', () => {
  it('are SIGINT, SIGTERM and SIGHUP everywhere, and SIGBREAK (Ctrl-Break) too on Windows', () => {
    assert.deepEqual(stopSignalsFor('linux'), ['SIGINT', 'SIGTERM', 'SIGHUP']);
    assert.deepEqual(stopSignalsFor('darwin'), ['SIGINT', 'SIGTERM', 'SIGHUP']);
    assert.deepEqual(stopSignalsFor('win32'), ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK']);
  });

  it('exit with 128 + the signal number', () => {
    assert.equal(exitCodeFor('SIGINT'), 130);
    assert.equal(exitCodeFor('SIGTERM'), 143);
    assert.equal(exitCodeFor('SIGHUP'), 129);
    assert.equal(exitCodeFor('SIGBREAK'), 149);
  });
});
