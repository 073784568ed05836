import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIni, setIniOption } from '../../../src/core/trac/tracIni';

describe('setIniOption', () => {
  it('replaces an existing option, keeping every other byte', () => {
    const text =
      '# comment\n[trac]\nbase_url = \nDatabase = sqlite:/srv/db/trac.db\n  continued\ndebug_sql = disabled\n\n[other]\ndatabase = x\n';
    assert.equal(
      setIniOption(text, 'trac', 'database', 'sqlite:db/trac.db'),
      '# comment\n[trac]\nbase_url = \ndatabase = sqlite:db/trac.db\ndebug_sql = disabled\n\n[other]\ndatabase = x\n',
    );
  });

  it('adds the option under its section, or the section at the end', () => {
    assert.equal(setIniOption('[trac]\nbase_url = x\n', 'trac', 'database', 'v'), '[trac]\ndatabase = v\nbase_url = x\n');
    assert.equal(setIniOption('[project]\nname = P', 'trac', 'database', 'v'), '[project]\nname = P\n\n[trac]\ndatabase = v\n');
    assert.equal(setIniOption('[trac]', 'trac', 'database', 'v'), '[trac]\ndatabase = v\n');
  });

  it('keeps Windows line ends, and the result parses as intended', () => {
    const result = setIniOption('[trac]\r\ndatabase = a\r\n[x]\r\ny = 1\r\n', 'trac', 'database', 'sqlite:db/b.db?timeout=5');
    assert.equal(result, '[trac]\r\ndatabase = sqlite:db/b.db?timeout=5\r\n[x]\r\ny = 1\r\n');
    assert.equal(parseIni(result).get('trac')?.get('database'), 'sqlite:db/b.db?timeout=5');
  });
});
