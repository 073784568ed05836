// A broken environment's Problem row, from what readEnvironment really says of broken copies of a
// real fixture: a few words that fit the default sidebar width, never the sentence with its path.
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readEnvironment } from '../../../src/core/trac/environment';
import { problemHeadline } from '../../../src/ui/problemRow';
import { copyFixture, makeTempDir, removeTempDir } from '../../support/fixtures';

/** What a Problem row's label has room for at code-server's default sidebar width (level 2, with its icon). */
const ROOM = 30;

describe('the Problem row of a broken environment', () => {
  let tmp: string;
  let serial = 0;
  before(async () => {
    tmp = await makeTempDir();
  });
  after(async () => {
    await removeTempDir(tmp);
  });

  const broken: Array<[string, (env: string) => Promise<void>, string]> = [
    ['a folder that is gone', (env) => fs.rm(env, { recursive: true }), 'Folder not found'],
    ['a file where the folder was', async (env) => (await fs.rm(env, { recursive: true }), fs.writeFile(env, '')), 'Not a folder'],
    ['no VERSION file', (env) => fs.rm(path.join(env, 'VERSION')), 'Not Trac: no VERSION file'],
    [
      'a VERSION file of something else',
      (env) => fs.writeFile(path.join(env, 'VERSION'), 'Subversion FSFS repository\n'),
      'Not Trac: odd VERSION file',
    ],
    ['no conf/trac.ini', (env) => fs.rm(path.join(env, 'conf', 'trac.ini')), 'Not Trac: no trac.ini'],
    [
      'a trac.ini that is not valid',
      (env) => fs.writeFile(path.join(env, 'conf', 'trac.ini'), 'no section header\n'),
      'trac.ini is not valid',
    ],
    [
      'a database URL that is not one',
      (env) => fs.writeFile(path.join(env, 'conf', 'trac.ini'), '[trac]\ndatabase = not a url\n'),
      'Database URL not understood',
    ],
    ['a database file that is missing', (env) => fs.rm(path.join(env, 'db', 'trac.db')), 'Database file missing'],
    [
      'a folder where the database was',
      async (env) => (await fs.rm(path.join(env, 'db', 'trac.db')), fs.mkdir(path.join(env, 'db', 'trac.db'))),
      'Database is not a file',
    ],
  ];

  for (const [what, breakIt, headline] of broken) {
    it(`says "${headline}" for ${what}, in room at the default width; the sentence with its path stays whole for the tooltip`, async () => {
      const env = await copyFixture('trac-1.6-fresh', path.join(tmp, `case-${++serial}`));
      await breakIt(env);
      const { problems } = await readEnvironment(env);
      assert.equal(problems.length, 1, JSON.stringify(problems));
      assert.equal(problemHeadline(problems[0]), headline, problems[0]);
      assert.ok(headline.length <= ROOM);
      assert.ok(problems[0].length > ROOM, 'the sentence is what did not fit');
    });
  }

  it('keeps a reason it does not know as it is, rather than hiding it behind a wrong headline', () => {
    assert.equal(problemHeadline('Something new went wrong.'), 'Something new went wrong.');
  });
});
