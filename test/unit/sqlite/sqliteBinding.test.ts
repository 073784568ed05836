import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { runtimeProblem } from '../../../src/core/sqlite/sqlite';
import type { EnvironmentDetails } from '../../../src/core/trac/environmentDetails';
import { copyFixture, removeTempDir } from '../../support/fixtures';

test('the runtime check accepts Node 22 with N-API 10 and explains anything older', () => {
  assert.equal(runtimeProblem({ ...process.versions, node: '22.15.0', napi: '10' }), undefined);
  const problem = runtimeProblem({ ...process.versions, node: '20.20.2', napi: '9' });
  assert.match(
    problem ?? '',
    /needs Node 22\+ with N-API 10 \(VS Code 1\.101 or newer\); this is Node 20\.20\.2 with N-API 9\. Update VS Code/,
  );
});

const temps: string[] = [];
after(() => Promise.all(temps.map(removeTempDir)));

// The machine's own Node (20 here) is the case where better-sqlite3 13 would crash the process
// at require: environments must still be read from their files, with a clear database error.
const systemNode = '/usr/bin/node';
test("on the machine's own Node the environment is still read from files, without a crash", async () => {
  const env = await copyFixture('trac-1.6-populated');
  temps.push(path.dirname(env));
  const version = execFileSync(systemNode, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
  const script = `
    const { readEnvironment } = require(${JSON.stringify(path.resolve(__dirname, '../../../src/core/trac/environment.js'))});
    const { readEnvironmentDetails } = require(${JSON.stringify(path.resolve(__dirname, '../../../src/core/trac/environmentDetails.js'))});
    readEnvironment(process.argv[1]).then(readEnvironmentDetails).then((details) => console.log(JSON.stringify(details)));
  `;
  const run = spawnSync(systemNode, ['-e', script, env], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const details = JSON.parse(run.stdout) as EnvironmentDetails;
  assert.equal(details.attachments.files, 40);
  if (Number(version.split('.')[0]) < 22) {
    assert.equal(details.database?.bindingUnavailable, true);
    assert.match(details.database?.error ?? '', new RegExp(`this is Node ${version.replace(/\./g, '\\.')}`));
  } else {
    assert.equal(details.database?.version, '45');
  }
});
