import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ExportArchiveResult } from '../../../src/core/archive/exportArchive';
import { hotcopy } from '../../../src/core/backup/hotcopy';
import { runCliCaptured } from '../../support/cliRun';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';

const archiveCli = (args: string[], stderrIsTTY = false) => runCliCaptured(['archive', ...args], { stderrIsTTY });

describe('trac-backup archive', () => {
  let tmp: string;
  let backup: string;
  before(async () => {
    tmp = await makeTempDir();
    const env = await copyFixture('trac-1.6-fresh', 'env', tmp);
    backup = (await hotcopy(env, path.join(tmp, 'backups', 'env-1'))).dest;
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it('writes the archive and prints one JSON object with --json', async () => {
    const file = path.join(tmp, 'out', 'env-1.tar.gz');
    const result = await archiveCli([backup, file, '--json']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '', 'no progress bar when stderr is not a terminal');
    const json = JSON.parse(result.stdout) as ExportArchiveResult;
    assert.equal(json.archive, file);
    assert.equal(json.archiveBytes, (await fs.stat(file)).size);
  });

  it('draws progress on a terminal and says what it wrote', async () => {
    const file = path.join(tmp, 'out', 'tty.tgz');
    const result = await archiveCli([backup, file], true);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /archive +\[/);
    assert.match(result.stdout, /^Archived .* to .*tty\.tgz: \d+ files, .* compressed to .* in /);
  });

  it('refuses an existing file in one line, exit 1', async () => {
    const file = path.join(tmp, 'out', 'taken.tar.gz');
    await fs.writeFile(file, 'keep me');
    const result = await archiveCli([backup, file]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^trac-backup: Can't overwrite existing '.*taken\.tar\.gz'.*\n$/);
    assert.equal(await fs.readFile(file, 'utf8'), 'keep me');
  });

  it('wants two arguments and a .tar.gz name (exit 2)', async () => {
    assert.equal((await archiveCli([backup])).code, 2);
    const wrongName = await archiveCli([backup, path.join(tmp, 'out', 'env.zip')]);
    assert.equal(wrongName.code, 2);
    assert.match(wrongName.stderr, /must end in \.tar\.gz or \.tgz/);
  });
});
