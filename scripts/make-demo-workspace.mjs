// Makes .demo/workspace: a folder holding a copy of a real Trac 1.6 environment (demo-trac),
// for trying the extension without touching the test fixtures. Prints the folder's path.
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const workspace = path.join(root, '.demo', 'workspace');
const environment = path.join(workspace, 'demo-trac');
if (!existsSync(environment)) {
  cpSync(path.join(root, 'test', 'fixtures', 'trac-1.6-populated'), environment, { recursive: true, preserveTimestamps: true });
  for (const folder of ['htdocs', 'plugins']) {
    mkdirSync(path.join(environment, folder), { recursive: true });
  }
}
console.log(workspace);
