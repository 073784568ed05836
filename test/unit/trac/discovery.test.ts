import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { discoverEnvironments } from '../../../src/core/trac/discovery';
import { MANIFEST_FILE } from '../../../src/core/catalog/manifest';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';

const temps: string[] = [];
after(() => Promise.all(temps.map(removeTempDir)));

async function workspace(): Promise<string> {
  const dir = await makeTempDir();
  temps.push(dir);
  return dir;
}

test('finds environments in a workspace down to the depth, not in node_modules, backups, kept copies or work folders', async () => {
  const root = await workspace();
  await copyFixture('trac-1.6-populated', 'populated', root);
  await fs.mkdir(path.join(root, 'sites', 'deep'), { recursive: true });
  await copyFixture('trac-1.6-fresh', 'fresh', path.join(root, 'sites'));
  await copyFixture('trac-1.6-fresh', 'too-deep', path.join(root, 'sites', 'deep'));
  await fs.mkdir(path.join(root, 'node_modules'));
  await copyFixture('trac-1.6-fresh', 'vendored', path.join(root, 'node_modules'));
  const backup = await copyFixture('trac-1.6-fresh', 'a-backup', root);
  await fs.writeFile(path.join(backup, MANIFEST_FILE), '{}');
  await copyFixture('trac-1.6-fresh', '.a-backup-20261126-101500.backup-77-1a2b3c4d', root);
  await copyFixture('trac-1.6-fresh', 'populated.before-restore-20261126-101500', root);

  const found = await discoverEnvironments({ roots: [root], depth: 2, environments: [], parents: [] });
  assert.deepEqual(
    found.map((entry) => [path.relative(root, entry.path), entry.origin]),
    [
      ['populated', 'workspace'],
      ['sites/fresh', 'workspace'],
    ],
  );
  const deeper = await discoverEnvironments({ roots: [root], depth: 3, environments: [], parents: [] });
  assert.ok(deeper.some((entry) => entry.path.endsWith('too-deep')));
  assert.ok(!deeper.some((entry) => entry.path.includes('node_modules')));
});

test('a workspace folder that is itself an environment is found at depth 0', async () => {
  const env = await copyFixture('trac-1.6-fresh', 'fresh', await workspace());
  const found = await discoverEnvironments({ roots: [env], depth: 0, environments: [], parents: [] });
  assert.deepEqual(found, [{ path: env, origin: 'workspace' }]);
});

test('paths from settings always show, with a reason when they are not environments', async () => {
  const root = await workspace();
  const env = await copyFixture('trac-1.6-fresh', 'fresh', root);
  const notEnv = path.join(root, 'plain');
  await fs.mkdir(notEnv);
  const missing = path.join(root, 'missing');
  const found = await discoverEnvironments({ roots: [], depth: 2, environments: [env, notEnv, missing], parents: [] });
  assert.deepEqual(
    found.map((entry) => [entry.path, entry.origin, entry.problem]),
    [
      [env, 'setting', undefined],
      [notEnv, 'setting', 'Not a Trac environment: it has no VERSION file.'],
      [missing, 'setting', 'Not a Trac environment: the folder does not exist.'],
    ],
  );
});

test('every child of an environment parent that is an environment is listed, like TRAC_ENV_PARENT_DIR', async () => {
  const parent = await workspace();
  await copyFixture('trac-1.6-fresh', 'one', parent);
  await copyFixture('trac-1.6-populated', 'two', parent);
  await copyFixture('trac-1.6-fresh', '.one.restore-123-abc', parent);
  await fs.mkdir(path.join(parent, 'not-an-env'));
  const found = await discoverEnvironments({ roots: [], depth: 0, environments: [], parents: [parent, path.join(parent, 'nope')] });
  assert.deepEqual(
    found.map((entry) => [path.basename(entry.path), entry.origin, Boolean(entry.problem)]),
    [
      ['one', 'parent', false],
      ['two', 'parent', false],
      ['nope', 'parent', true],
    ],
  );
  assert.match(found[2].problem ?? '', /cannot be read \(ENOENT\).*environmentParents/);
});

test('an environment found twice is listed once', async () => {
  const root = await workspace();
  const env = await copyFixture('trac-1.6-fresh', 'fresh', root);
  const found = await discoverEnvironments({ roots: [root], depth: 1, environments: [env], parents: [root] });
  assert.equal(found.length, 1);
});
