import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RestError } from './errors.ts';
import { aggregate, formatMetricValue, listOrGet, parseAggregations, parseIndexRanges, skewPercent } from './metrics.ts';

describe('metric endpoints', () => {
  it('formats values as the strings Flink writes', () => {
    assert.equal(formatMetricValue(34), '34');
    assert.equal(formatMetricValue(12.5), '12.5');
    assert.equal(formatMetricValue(Number.NaN), 'NaN');
    assert.equal(formatMetricValue(true), 'true');
    assert.equal(formatMetricValue('-9223372036854775808'), '-9223372036854775808');
  });

  it('lists ids without get and only existing requested ids with get, in request order', () => {
    const m = { a: 1, b: 'x', c: false };
    assert.deepEqual(listOrGet(m, []), [{ id: 'a' }, { id: 'b' }, { id: 'c' }]);
    assert.deepEqual(listOrGet(m, ['c', 'zz', 'a']), [{ id: 'c', value: 'false' }, { id: 'a', value: '1' }]);
    assert.deepEqual(listOrGet(undefined, ['a']), []);
  });

  it('aggregates min, max, avg, sum and skew over components in Flink field order', () => {
    const comps = [{ busy: 100 }, { busy: 300 }, { busy: 200 }];
    const [out] = aggregate(comps, ['busy'], ['sum', 'min', 'max', 'avg']);
    assert.deepEqual(Object.keys(out!), ['id', 'min', 'max', 'avg', 'sum']);
    assert.deepEqual(out, { id: 'busy', min: 100, max: 300, avg: 200, sum: 600 });
  });

  it('answers [] when any requested metric is missing in any component', () => {
    assert.deepEqual(aggregate([{ a: 1, b: 2 }, { a: 3 }], ['a', 'b'], ['max']), []);
    assert.deepEqual(aggregate([{ a: 1 }, { a: 3 }], ['a'], ['max']), [{ id: 'a', max: 3 }]);
  });

  it('skips non-numeric values and lists the union of ids without get', () => {
    assert.deepEqual(aggregate([{ a: 'NaN' }, { a: 4 }], ['a'], ['min', 'max']), [{ id: 'a', min: 4, max: 4 }]);
    assert.deepEqual(aggregate([{ a: 1 }, { b: 2 }], [], ['max']), [{ id: 'a' }, { id: 'b' }]);
  });

  it('computes skew as the capped coefficient of variation in percent', () => {
    assert.equal(skewPercent([5, 5, 5], 5), 0);
    assert.equal(Math.round(skewPercent([100, 300], 200)), 50);
    assert.equal(skewPercent([0, 0, 1000], 1000 / 3), 100);
    assert.equal(skewPercent([0, 0], 0), 0);
  });

  it('parses agg case-insensitively, defaulting to all, and rejects unknown ones', () => {
    assert.deepEqual(parseAggregations([]), ['min', 'max', 'avg', 'sum', 'skew']);
    assert.deepEqual(parseAggregations(['MAX,avg', 'max']), ['max', 'avg']);
    assert.throws(() => parseAggregations(['p99']), (e: unknown) => e instanceof RestError && e.status === 400);
  });

  it('parses subtask ranges like 0-3,7', () => {
    assert.deepEqual(parseIndexRanges('subtasks', ['0-3,7', '2']), [0, 1, 2, 3, 7]);
    assert.throws(() => parseIndexRanges('subtasks', ['3-1']), RestError);
    assert.throws(() => parseIndexRanges('subtasks', ['a']), RestError);
  });
});
