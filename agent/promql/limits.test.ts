import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStorage } from '../tsdb/storage.ts';
import { compileAnchoredRegex } from '../tsdb/matchers.ts';
import { PromQLEngine } from './engine.ts';
import { promErrorType } from './errors.ts';

function store(series: number, samples: number, stepMs = 15_000): MemoryStorage {
  const st = new MemoryStorage();
  for (let s = 0; s < series; s++) {
    const labels = { __name__: 'up', job: 'j', instance: `i${s}`, long: 'a'.repeat(30) };
    for (let i = 0; i < samples; i++) st.append(labels, i * stepMs, 1);
  }
  return st;
}

/** Runs fn, returning the errorType it fails with (null on success) and how long it took. */
function outcome(fn: () => unknown): { type: string | null; ms: number; message: string } {
  const t0 = performance.now();
  try {
    fn();
    return { type: null, ms: performance.now() - t0, message: '' };
  } catch (err) {
    return { type: promErrorType(err) ?? `untyped ${String(err)}`, ms: performance.now() - t0, message: (err as Error).message };
  }
}

describe('query limits', () => {
  const engine = new PromQLEngine(store(20, 100), { maxSamples: 1_000_000 });
  const T = 1_500_000;

  it('refuses a subquery window of more than 11,000 points with Prometheus\'s resolution error, before evaluating it', () => {
    const r = outcome(() => engine.instantQuerySync('max_over_time(up[1d:1ms])', T));
    assert.equal(r.type, 'bad_data');
    assert.match(r.message, /^exceeded maximum resolution of 11,000 points per timeseries\. Try decreasing the query resolution \(\?step=XX\)$/);
    assert.ok(r.ms < 500, `took ${r.ms} ms`);
    assert.equal(outcome(() => engine.instantQuerySync('max_over_time(up[11000s:1s])', T)).type, null);
  });

  it('refuses a duration past what Prometheus can hold, and huge subquery ranges, as typed errors', () => {
    const huge = outcome(() => engine.instantQuerySync('up[999999999999y:1ms]', T));
    assert.equal(huge.type, 'bad_data');
    assert.match(huge.message, /duration out of range/);
    for (const q of ['up[200y:1ms]', 'max_over_time(up[100y:1d])[5m:1ms]', 'sum_over_time((up[30000d:1ms])[1h:1s])']) {
      const r = outcome(() => engine.instantQuerySync(q, T));
      assert.ok(r.type === 'bad_data' || r.type === 'execution', `${q}: ${r.type} ${r.message}`);
      assert.ok(r.ms < 1000, `${q} took ${r.ms} ms`);
    }
  });

  it('fails a query whose steps alone exceed max samples with the too-many-samples error', () => {
    const small = new PromQLEngine(store(1, 10), { maxSamples: 1000 });
    const r = outcome(() => small.instantQuerySync('max_over_time(up[10000s:1s])', T));
    assert.equal(r.type, 'execution');
    assert.equal(r.message, 'query processing would load too many samples into memory in query execution');
  });

  it('stops a long evaluation at its timeout, from inside the loops over steps', () => {
    const big = new PromQLEngine(store(200, 400), { maxSamples: 1e9 });
    const r = outcome(() => big.rangeQuerySync('sum by (instance) (max_over_time(up[1h:1s]))', 0, 6_000_000, 10_000, { timeoutMs: 50 }));
    assert.equal(r.type, 'timeout');
    assert.equal(r.message, 'query timed out in expression evaluation');
    assert.ok(r.ms < 1000, `timed out after ${r.ms} ms`);
  });
});

describe('RE2 regular expressions', () => {
  it('matches (a|a)*c against a 30-character value in linear time', () => {
    const t0 = performance.now();
    assert.equal(compileAnchoredRegex('(a|a)*c').test('a'.repeat(30)), false);
    const st = store(5, 2);
    const r = new PromQLEngine(st).instantQuerySync('count({long=~"(a|a)*c"})', 15_000);
    assert.equal(r.data.resultType === 'vector' && r.data.result.length, 0);
    assert.ok(performance.now() - t0 < 500);
  });

  for (const [re, why] of [['(a)\\1', 'backreference'], ['a(?=b)', 'lookahead'], ['a(?<!b)', 'lookbehind'], ['a{1001}', 'repeat count over 1000'], ['('.repeat(2000) + 'a' + ')'.repeat(2000), 'nesting']] as const) {
    it(`refuses a ${why} as RE2 does, with bad_data`, () => {
      const r = outcome(() => new PromQLEngine(store(1, 1)).instantQuerySync(`{__name__=~${JSON.stringify(re)}}`, 0));
      assert.equal(r.type, 'bad_data', r.message);
      assert.match(r.message, /parse error: error parsing regexp: /);
    });
  }

  it('answers a 100,000-character regex with a result or a typed error, never a raw one', () => {
    for (const re of ['a'.repeat(100_000), '('.repeat(100_000), '[a-z]'.repeat(20_000), 'a|'.repeat(50_000)]) {
      const r = outcome(() => new PromQLEngine(store(1, 1)).instantQuerySync(`{__name__=~"${re}"}`, 0));
      assert.ok(r.type === null || r.type === 'bad_data', `${re.slice(0, 10)}: ${r.type} ${r.message.slice(0, 200)}`);
    }
  });

  it('keeps Prometheus\'s anchoring and capture groups in label_replace', () => {
    const st = new MemoryStorage();
    st.append({ __name__: 'm', pod: 'tm-3-abc' }, 0, 1);
    const r = new PromQLEngine(st).instantQuerySync('label_replace(m, "idx", "$1/${name}", "pod", "tm-(\\\\d+)-(?P<name>[a-z]+)")', 0);
    assert.equal(r.data.resultType === 'vector' && r.data.result[0]!.metric['idx'], '3/abc');
    const none = new PromQLEngine(st).instantQuerySync('label_replace(m, "idx", "$1", "pod", "(\\\\d+)")', 0);
    assert.equal(none.data.resultType === 'vector' && none.data.result[0]!.metric['idx'], undefined);
  });
});
