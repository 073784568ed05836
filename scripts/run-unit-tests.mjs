// Compiles the TypeScript tests and runs the unit layer with Node's own test runner
// (Node 22 from the node@22 devDependency, so better-sqlite3 13 loads).
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import * as path from 'node:path';

execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.test.json'], { stdio: 'inherit' });

const dir = path.join('out', 'test', 'unit');
const files = readdirSync(dir, { recursive: true })
  .map(String)
  .filter((name) => name.endsWith('.test.js'))
  .map((name) => path.join(dir, name))
  .sort();
const filter = process.argv.slice(2);
const selected = filter.length ? files.filter((file) => filter.some((part) => file.includes(part))) : files;

const result = spawnSync(
  process.execPath,
  ['--test', '--test-concurrency=2', '--test-reporter=spec', ...selected],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
