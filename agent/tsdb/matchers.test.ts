import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FlowpilotError } from '../../common/errors.ts';
import { compileAnchoredRegex } from './matchers.ts';

describe('RE2 regex matchers', () => {
  const cases: [string, string, boolean][] = [
    ['pro.*', 'production', true],
    ['pro', 'production', false],
    ['(?i)PRO.*', 'production', true],
    ['((?i)PRO).*', 'production', true],
    ['.*(?i:TION)', 'production', true],
    ['a|b', 'ab', false],
    ['a|b', 'b', true],
    ['\\Qa.b\\E', 'a.b', true],
    ['\\Qa.b\\E', 'axb', false],
    ['[[:digit:]]+', '123', true],
    ['[[:alpha:]]+', 'a1', false],
    ['(?s)a.b', 'a\nb', true],
    ['a.b', 'a\nb', false],
  ];
  for (const [re, value, want] of cases) {
    it(`${want ? 'matches' : 'does not match'} ${JSON.stringify(value)} with ${re}`, () => {
      assert.equal(compileAnchoredRegex(re).test(value), want);
    });
  }

  it('refuses a regex that does not compile with FP_PROMQL_REGEX', () => {
    assert.throws(() => compileAnchoredRegex('(a'), (e: unknown) => e instanceof FlowpilotError && e.code === 'FP_PROMQL_REGEX');
  });
});
