import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { goRegexp, reReplaceAll } from './funcs.ts';

describe('template regexps (match, reReplaceAll)', () => {
  it('run in linear time: (a|a)*c against 30 a\'s answers at once', () => {
    const t0 = performance.now();
    assert.equal(goRegexp('(a|a)*c$').test('a'.repeat(30)), false);
    assert.equal(reReplaceAll('(a|a)*c', 'x', 'a'.repeat(30)), 'a'.repeat(30));
    assert.ok(performance.now() - t0 < 500);
  });

  it('refuse what Go refuses, with Go\'s message', () => {
    assert.throws(() => goRegexp('(a)\\1'), /^Error: error parsing regexp: invalid escape sequence/);
    assert.throws(() => goRegexp('a(?=b)'), /error parsing regexp: invalid or unsupported Perl syntax/);
  });

  it('expand $1, ${1}, named groups and $$ as Go does', () => {
    assert.equal(reReplaceAll('(?P<host>[^:]+):([0-9]+)', '${host}-$2-$$', 'a:1 b:2'), 'a-1-$ b-2-$');
  });
});
