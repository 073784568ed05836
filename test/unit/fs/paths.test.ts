import * as assert from 'node:assert/strict';
import * as os from 'node:os';
import { describe, it } from 'node:test';
import { expandHome } from '../../../src/core/fs/paths';

describe('paths', () => {
  it('expands ~ with the home folder, which does not need HOME (unset on Windows)', () => {
    assert.equal(expandHome('~/backups', '/home/ann'), '/home/ann/backups');
    assert.equal(expandHome('~', '/home/ann'), '/home/ann');
    assert.equal(expandHome('~\\backups', 'C:\\Users\\ann'), 'C:\\Users\\ann\\backups');
    assert.equal(expandHome('~ann/backups', '/home/bob'), '~ann/backups', "another user's ~ is left as it is");
    assert.equal(expandHome('/srv/~/x', '/home/ann'), '/srv/~/x');
    const home = process.env.HOME;
    delete process.env.HOME;
    try {
      assert.equal(expandHome('~/backups'), `${os.homedir()}/backups`);
      assert.ok(!expandHome('~/backups').startsWith('~'));
    } finally {
      process.env.HOME = home;
    }
  });
});
