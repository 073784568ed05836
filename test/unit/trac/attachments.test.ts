import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AttachmentIndex, attachmentRelativePath, findAttachmentMismatches } from '../../../src/core/trac/attachments';
import { loadSqlite, openReadOnly } from '../../../src/core/sqlite/sqlite';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';

/** Trac 1.6's trac.attachment.Attachment._get_path, relative to the environment. */
const TRAC_PATH_RULE = `
import hashlib, os.path, re, sys
realm, parent_id = sys.argv[1], sys.argv[2]
for filename in sys.argv[3:]:
    parent = hashlib.sha1(parent_id.encode('utf-8')).hexdigest()
    hashed = hashlib.sha1(filename.encode('utf-8')).hexdigest()
    match = re.compile(r'\\.[A-Za-z0-9]+\\Z').search(filename)
    print(os.path.normpath(os.path.join('files', 'attachments', realm, parent[0:3], parent, hashed + match.group(0) if match else hashed)))
`;

describe('attachments', () => {
  let tmp: string;
  let env: string;
  before(async () => {
    tmp = await makeTempDir();
    env = await copyFixture('trac-1.6-populated', 'env', tmp);
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  it('finds every file where Trac put it (names with spaces and non-ASCII letters included)', async () => {
    assert.equal(
      attachmentRelativePath('wiki', 'Page0004', 'screen shot-0.diff'),
      'files/attachments/wiki/df6/df635831b48e8a3415598fdb6a066c48cbf46ff6/701c69f0e36ecb6385c8cd45a61546d3fb3777a3.diff',
    );
    const mismatches = await findAttachmentMismatches(env, path.join(env, 'db', 'trac.db'));
    assert.deepEqual(mismatches, { missingFiles: [], unlistedFiles: [], rows: 40 });
  });

  it('names files as Trac does: only an ASCII letters-and-digits suffix is kept as the extension', () => {
    // Trac's own rule (trac.attachment.Attachment._get_path and _get_hashed_filename), run in Python.
    const names = ['notes.tar.gz', '.htaccess', 'file.', 'a.b-c', 'résumé.pdf', 'report.PDF', 'archive.tar.g_z', 'no extension', 'x.日本'];
    const trac = execFileSync('/usr/bin/python3', ['-c', TRAC_PATH_RULE, 'ticket', '42', ...names], { encoding: 'utf8' })
      .trim()
      .split('\n');
    assert.deepEqual(
      names.map((name) => attachmentRelativePath('ticket', '42', name)),
      trac,
    );
  });

  it('reads the table as path → row signature, then tells what changed since', () => {
    const dbFile = path.join(env, 'db', 'trac.db');
    const db = openReadOnly(dbFile);
    const writer = new (loadSqlite())(dbFile);
    try {
      const index = new AttachmentIndex(db);
      const rows = index.read();
      assert.equal(rows.size, 40);
      const page4 = attachmentRelativePath('wiki', 'Page0004', 'screen shot-0.diff');
      assert.equal(rows.get(page4), 'wiki\0Page0004\0screen shot-0.diff\x0013825\x001795690744860726');
      assert.deepEqual(index.changes(), { rows: new Map(), vacated: new Set() });

      const [first, second] = writer.prepare('SELECT type, id, filename FROM attachment ORDER BY rowid LIMIT 2 OFFSET 1').all() as Array<{
        type: string;
        id: string;
        filename: string;
      }>;
      writer.prepare("INSERT INTO attachment VALUES ('ticket', '9', 'new.txt', 3, 1, '', '')").run();
      writer
        .prepare("UPDATE attachment SET id = 'Moved' WHERE type = ? AND id = ? AND filename = ?")
        .run(first.type, first.id, first.filename);
      writer.prepare('DELETE FROM attachment WHERE type = ? AND id = ? AND filename = ?').run(second.type, second.id, second.filename);
      writer.prepare("UPDATE attachment SET description = 'only the description' WHERE type = 'wiki' AND id = 'Page0004'").run();

      const changes = index.changes();
      assert.deepEqual(
        [...changes.rows.keys()].sort(),
        [attachmentRelativePath('ticket', '9', 'new.txt'), attachmentRelativePath(first.type, 'Moved', first.filename)].sort(),
      );
      assert.deepEqual(
        [...changes.vacated].sort(),
        [
          attachmentRelativePath(first.type, first.id, first.filename),
          attachmentRelativePath(second.type, second.id, second.filename),
        ].sort(),
      );
      assert.equal(index.read().size, 40, 'a new read is the new base');
      assert.deepEqual(index.changes(), { rows: new Map(), vacated: new Set() });
    } finally {
      writer.close();
      db.close();
    }
  });
});
