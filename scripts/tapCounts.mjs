// Reads the pass/fail counts from the summary that node:test's TAP reporter ends with.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

/** { passed, failed, skipped } from a TAP file; a missing file or summary counts as one failure. */
export function tapCounts(file) {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const count = (name) => Number(text.match(new RegExp(`^# ${name} (\\d+)$`, 'm'))?.[1] ?? NaN);
  if (Number.isNaN(count('pass'))) {
    return { passed: 0, failed: 1, skipped: 0, error: `no test summary in ${file}` };
  }
  return {
    passed: count('pass'),
    failed: count('fail') + (count('cancelled') || 0),
    skipped: (count('skipped') || 0) + (count('todo') || 0),
  };
}

/** Writes counts to test-results/<layer>.json, which scripts/test.sh adds up. */
export function writeLayerResults(root, layer, counts) {
  const dir = path.join(root, 'test-results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `${layer}.json`), JSON.stringify(counts) + '\n');
}
