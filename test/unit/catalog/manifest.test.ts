import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TracBackupError } from '../../../src/core/shared/errors';
import { BackupManifest, MANIFEST_FILE, MANIFEST_FORMAT, readManifest, writeManifest } from '../../../src/core/catalog/manifest';
import { makeTempDir, removeTempDir } from '../../support/fixtures';

const sample: BackupManifest = {
  format: MANIFEST_FORMAT,
  tool: { name: 'trac-backup', version: '0.1.0' },
  createdAt: '2024-01-02T03:04:05.678Z',
  source: { path: '/srv/trac/project', projectName: 'Project', host: 'example' },
  database: {
    kind: 'sqlite',
    url: 'sqlite:db/trac.db',
    file: '/srv/trac/project/db/trac.db',
    external: false,
    included: true,
    path: 'db/trac.db',
    version: '45',
  },
  fileCount: 1,
  bytes: 3,
  lockMs: 4.5,
  durationMs: 120,
  entries: [
    { path: 'db', type: 'directory', mode: 0o755, mtimeMs: 1 },
    { path: 'db/trac.db', type: 'file', size: 3, mode: 0o644, mtimeMs: 2, sha256: 'ab'.repeat(32) },
    { path: 'htdocs/link', type: 'symlink', target: '../x', mtimeMs: 3 },
  ],
};

describe('backup manifest', () => {
  let tmp: string;
  before(async () => {
    tmp = await makeTempDir();
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it('reads back what it wrote, as JSON with one line per entry', async () => {
    const file = await writeManifest(tmp, sample);
    assert.equal(file, path.join(tmp, MANIFEST_FILE));
    assert.deepEqual(await readManifest(tmp), sample);
    const text = await fs.readFile(file, 'utf8');
    assert.equal(text.split('\n').filter((line) => line.includes('"path":"db/')).length, 1);
    assert.deepEqual(JSON.parse(text), sample);
  });

  it('is undefined for a folder without one', async () => {
    assert.equal(await readManifest(path.join(tmp, 'missing')), undefined);
  });

  it('refuses invalid or newer metadata with a message naming the file', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['bad-json', '{', /not valid JSON/],
      ['not-object', '[]', /no format number/],
      ['newer', JSON.stringify({ ...sample, format: MANIFEST_FORMAT + 1 }), /newer than this tool reads/],
      ['no-entries', JSON.stringify({ ...sample, entries: undefined }), /lacks entries/],
    ];
    for (const [name, text, reason] of cases) {
      const dir = path.join(tmp, name);
      await fs.mkdir(dir);
      await fs.writeFile(path.join(dir, MANIFEST_FILE), text);
      await assert.rejects(readManifest(dir), (error: unknown) => {
        assert.ok(error instanceof TracBackupError);
        assert.equal(error.code, 'MANIFEST_INVALID');
        assert.match(error.message, reason);
        assert.ok(error.message.includes(path.join(dir, MANIFEST_FILE)));
        return true;
      });
    }
  });
});
