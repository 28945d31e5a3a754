import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FlowpilotError } from '../../common/errors.ts';
import { MemoryStorage } from '../tsdb/storage.ts';
import { PromQLEngine } from './engine.ts';
import { formatValue, toApiData } from './value.ts';

function counters(series: number, samples: number, stepMs = 15_000): MemoryStorage {
  const st = new MemoryStorage();
  for (let s = 0; s < series; s++) {
    const labels = { __name__: 'flink_records_total', job: 'etl', subtask: String(s) };
    for (let i = 0; i < samples; i++) st.append(labels, i * stepMs, i * 10 * (s + 1));
  }
  return st;
}

describe('PromQLEngine', () => {
  it('answers an instant query with a vector that maps to the HTTP API JSON', async () => {
    const engine = new PromQLEngine(counters(2, 41));
    const res = await engine.instantQuery('sum by (job) (rate(flink_records_total[2m]))', 600_000);
    assert.equal(res.data.resultType, 'vector');
    const api = toApiData(res.data) as { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
    assert.deepEqual(api.result.map((r) => r.metric), [{ job: 'etl' }]);
    assert.equal(api.result[0]!.value[0], 600);
    // Each counter grows by 10*(s+1) per 15 s: 2/3 + 4/3 per second.
    assert.ok(Math.abs(Number(api.result[0]!.value[1]) - 2) < 1e-9);
  });

  it('answers a range query with one matrix series per label set', async () => {
    const engine = new PromQLEngine(counters(3, 41));
    const res = await engine.rangeQuery('flink_records_total{subtask!="0"} / 10', 0, 60_000, 15_000);
    assert.equal(res.data.resultType, 'matrix');
    if (res.data.resultType !== 'matrix') return;
    assert.equal(res.data.result.length, 2);
    assert.deepEqual(res.data.result[0]!.timestamps, [0, 15_000, 30_000, 45_000, 60_000]);
    assert.deepEqual(res.data.result[0]!.values, [0, 2, 4, 6, 8]);
    assert.equal(res.data.result[0]!.metric['__name__'], undefined);
  });

  it('treats a range selector as left-open and ends series at the lookback delta', () => {
    const st = new MemoryStorage();
    st.append({ __name__: 'g' }, 0, 1);
    st.append({ __name__: 'g' }, 60_000, 2);
    const engine = new PromQLEngine(st, { lookbackDeltaMs: 120_000 });
    const count = engine.instantQuerySync('count_over_time(g[1m])', 60_000);
    assert.deepEqual(count.data.resultType === 'vector' && count.data.result.map((s) => s.value), [1]);
    const late = engine.instantQuerySync('g', 179_999);
    assert.equal(late.data.resultType === 'vector' && late.data.result.length, 1);
    const gone = engine.instantQuerySync('g', 180_000);
    assert.equal(gone.data.resultType === 'vector' && gone.data.result.length, 0);
  });

  it('cancels a query that runs past its timeout with FP_PROMQL_TIMEOUT', () => {
    const engine = new PromQLEngine(counters(300, 400));
    assert.throws(
      () => engine.rangeQuerySync('sum by (subtask) (rate(flink_records_total[5m]))', 0, 6_000_000, 1_000, { timeoutMs: 1 }),
      (err: unknown) => err instanceof FlowpilotError && err.code === 'FP_PROMQL_TIMEOUT',
    );
  });

  it('refuses to start a query whose signal is already aborted', async () => {
    const engine = new PromQLEngine(counters(1, 2));
    await assert.rejects(engine.instantQuery('flink_records_total', 0, { signal: AbortSignal.abort() }), (err: unknown) => err instanceof FlowpilotError && err.code === 'FP_PROMQL_CANCELED');
  });

  it('reports matching errors with FP_PROMQL_EXEC', () => {
    const engine = new PromQLEngine(counters(2, 2));
    assert.throws(() => engine.instantQuerySync('flink_records_total + on(job) flink_records_total', 15_000), (err: unknown) => err instanceof FlowpilotError && err.code === 'FP_PROMQL_EXEC' && /many-to-many/.test(err.message));
  });

  it('returns scalars and strings from an instant query', () => {
    const engine = new PromQLEngine(new MemoryStorage());
    const s = engine.instantQuerySync('time() * 2', 5_000);
    assert.deepEqual(s.data, { resultType: 'scalar', result: { t: 5_000, value: 10 } });
    assert.deepEqual(toApiData(engine.instantQuerySync('"x"', 1_000).data), { resultType: 'string', result: [1, 'x'] });
  });

  it('formats sample values as Prometheus does', () => {
    assert.equal(formatValue(1e6), '1000000');
    assert.equal(formatValue(1e21), '1000000000000000000000');
    assert.equal(formatValue(1.5e-7), '0.00000015');
    assert.equal(formatValue(Infinity), '+Inf');
    assert.equal(formatValue(-Infinity), '-Inf');
    assert.equal(formatValue(NaN), 'NaN');
    assert.equal(formatValue(0.1), '0.1');
  });
});

describe('PromQLEngine chunked range queries', () => {
  it('gives the same matrix as the synchronous evaluation over many steps', async () => {
    const engine = new PromQLEngine(counters(4, 200, 10_000));
    const queries = [
      'sum by (job) (rate(flink_records_total[1m]))',
      'flink_records_total{subtask="2"} @ end() - flink_records_total{subtask="2"} @ start()',
      'max_over_time(flink_records_total[5m:30s])',
      'topk(1, flink_records_total)',
    ];
    for (const q of queries) {
      const a = engine.rangeQuerySync(q, 0, 1_990_000, 5_000);
      const b = await engine.rangeQuery(q, 0, 1_990_000, 5_000);
      assert.deepEqual(b.data, a.data, q);
    }
  });

  it('stops between chunks when the signal is aborted', async () => {
    const engine = new PromQLEngine(counters(4, 200, 10_000));
    const ac = new AbortController();
    const p = engine.rangeQuery('flink_records_total', 0, 1_990_000, 1_000, { signal: ac.signal });
    ac.abort();
    await assert.rejects(p, (err: unknown) => err instanceof FlowpilotError && err.code === 'FP_PROMQL_CANCELED');
  });
});

describe('PromQLEngine metrics', () => {
  it('counts queries by kind and outcome and records their duration', async () => {
    const { Registry } = await import('prom-client');
    const registry = new Registry();
    const engine = new PromQLEngine(counters(2, 10));
    engine.registerMetrics(registry);
    engine.instantQuerySync('flink_records_total', 15_000);
    await engine.rangeQuery('flink_records_total', 0, 60_000, 15_000);
    assert.throws(() => engine.instantQuerySync('flink_records_total + on(job) flink_records_total', 15_000));
    const text = await registry.metrics();
    assert.match(text, /flowpilot_promql_queries_total\{kind="instant",result="success"\} 1/);
    assert.match(text, /flowpilot_promql_queries_total\{kind="instant",result="error"\} 1/);
    assert.match(text, /flowpilot_promql_queries_total\{kind="range",result="success"\} 1/);
    assert.match(text, /flowpilot_promql_query_duration_seconds_count\{kind="instant"\} 2/);
  });
});
