import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { expandValues, parseSeriesDescription } from './series.ts';

describe('expanding series notation', () => {
  const table: Array<[string, Array<number | 'stale' | null>]> = [
    ['1 2 3', [1, 2, 3]],
    ['-2+4x3', [-2, 2, 6, 10]],
    ['10-2x2', [10, 8, 6]],
    ['5x2', [5, 5, 5]],
    ['1 _x3 stale', [1, null, null, null, 'stale']],
    ['_ 1 _', [null, 1, null]],
    ['0+1200x2 12000x1', [0, 1200, 2400, 12000, 12000]],
    ['Inf -Inf', [Infinity, -Infinity]],
    ['-9223372036854775808x1', [-9223372036854775808, -9223372036854775808]],
    ['0.5+0.25x2', [0.5, 0.75, 1]],
  ];
  for (const [src, want] of table) it(`expands "${src}"`, () => assert.deepEqual(expandValues(src), want));

  it('expands NaN and rejects garbage', () => {
    assert.ok(Number.isNaN(expandValues('NaN')[0] as number));
    assert.throws(() => expandValues('1 abc'), /invalid value "abc"/);
  });

  it('parses series descriptions into labels', () => {
    assert.deepEqual({ ...parseSeriesDescription('up{job="a",instance="b:1"}') }, { __name__: 'up', instance: 'b:1', job: 'a' });
    assert.deepEqual({ ...parseSeriesDescription('{__name__="x",a="\\"q\\""}') }, { __name__: 'x', a: '"q"' });
    assert.throws(() => parseSeriesDescription('up{job=~"a"}'), /only = matchers/);
    assert.throws(() => parseSeriesDescription('sum(up)'), /not a series selector/);
  });
});
