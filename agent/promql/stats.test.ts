/**
 * `stats=` figures: samples counted as Prometheus's engine counts them (1 per series per step
 * for an instant selector, the window's samples per step for a range selector, a subquery's
 * inner samples not at all), per step with stats=all, across the chunks of a long range query,
 * and carried out of the query worker with its queue time.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStorage } from '../tsdb/storage.ts';
import { PromQLEngine } from './engine.ts';
import { QueryPool } from './query-pool.ts';
import { QueryStats, statsParam, type QueryStatsJson } from './stats.ts';

const T0 = 1_700_000_000_000;

/** Two series m{i="0"}, m{i="1"} with a sample every 15 s over [T0, T0 + 30 min]. */
function store(): MemoryStorage {
  const st = new MemoryStorage();
  for (let t = T0; t <= T0 + 30 * 60_000; t += 15_000) for (const i of ['0', '1']) st.append({ __name__: 'm', i }, t, t / 1000);
  return st;
}

function perStepSum(j: QueryStatsJson): number {
  return (j.samples.totalQueryableSamplesPerStep ?? []).reduce((a, [, n]) => a + n, 0);
}

describe('query stats', () => {
  const engine = new PromQLEngine(store());
  const at = T0 + 20 * 60_000;

  it('reads the stats parameter as Prometheus does: any value asks, "all" adds the per-step counts', () => {
    assert.equal(statsParam(null), undefined);
    assert.equal(statsParam(''), undefined);
    assert.equal(statsParam('1')!.perStep, false);
    assert.equal(statsParam('all')!.perStep, true);
  });

  it('counts 1 per series for an instant selector, and the window for a range selector', () => {
    const s1 = new QueryStats(true);
    engine.instantQuerySync('m', at, { stats: s1 });
    const j1 = s1.toJSON();
    assert.equal(j1.samples.totalQueryableSamples, 2);
    assert.deepEqual(j1.samples.totalQueryableSamplesPerStep, [[at / 1000, 2]]);
    assert.ok(j1.samples.peakSamples >= 2);
    // (at - 1m, at]: 4 samples per series.
    const s2 = new QueryStats(false);
    engine.instantQuerySync('sum(rate(m[1m]))', at, { stats: s2 });
    const j2 = s2.toJSON();
    assert.equal(j2.samples.totalQueryableSamples, 8);
    assert.equal(j2.samples.totalQueryableSamplesPerStep, undefined);
    assert.deepEqual(Object.keys(j2.timings), ['evalTotalTime', 'resultSortTime', 'queryPreparationTime', 'innerEvalTime', 'execQueueTime', 'execTotalTime']);
    for (const v of Object.values(j2.timings)) assert.ok(v >= 0 && v < 5, `timing ${v}`);
    assert.ok(Math.abs(j2.timings.evalTotalTime - (j2.timings.queryPreparationTime + j2.timings.innerEvalTime + j2.timings.resultSortTime)) < 1e-9);
  });

  it('counts per step in a range query, overlapping windows once per window', () => {
    const s = new QueryStats(true);
    // 11 steps of 30 s; each 1m window holds 4 samples of each series.
    engine.rangeQuerySync('sum_over_time(m[1m])', at, at + 5 * 60_000, 30_000, { stats: s });
    const j = s.toJSON();
    const steps = j.samples.totalQueryableSamplesPerStep!;
    assert.equal(steps.length, 11);
    // Past the newest sample (T0 + 30 min) the windows empty out.
    assert.deepEqual(steps.map(([, n]) => n), [8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8]);
    assert.equal(j.samples.totalQueryableSamples, 88);
    assert.equal(perStepSum(j), 88);
  });

  it('counts the points of a subquery each window sees, not its inner samples', () => {
    const s = new QueryStats(true);
    // [1m:15s] at a step aligned to 15 s: 4 points of each series in the window.
    engine.instantQuerySync('max_over_time(m[1m:15s])', at, { stats: s });
    assert.equal(s.toJSON().samples.totalQueryableSamples, 8);
  });

  it('keeps per-step counts across the chunks of a long range query', async () => {
    const s = new QueryStats(true);
    // 301 steps of 2 s (chunks of 120): the selector finds both series at every step.
    await engine.rangeQuery('m', at, at + 600_000, 2_000, { stats: s });
    const j = s.toJSON();
    assert.equal(j.samples.totalQueryableSamplesPerStep!.length, 301);
    assert.ok(j.samples.totalQueryableSamplesPerStep!.every(([, n]) => n === 2));
    assert.equal(j.samples.totalQueryableSamples, 602);
    // The merged result points are held beside the last chunk's samples.
    assert.ok(j.samples.peakSamples >= 2 * 240, `peak ${j.samples.peakSamples}`);
  });

  it('comes out of the query worker in data.stats, with the queue time', async (t) => {
    const p = new QueryPool({ storage: store(), maxConcurrency: 2, lookbackDeltaMs: 300_000, maxSamples: 50_000_000 });
    p.start();
    t.after(() => p.stop());
    const body = JSON.parse(await p.run({ kind: 'range', query: 'm', start: at, end: at + 60_000, step: 15_000, stats: 'all' }, { timeoutMs: 30_000 })) as {
      data: { resultType: string; result: unknown[]; stats: QueryStatsJson };
    };
    assert.deepEqual(Object.keys(body.data), ['resultType', 'result', 'stats']);
    assert.equal(body.data.stats.samples.totalQueryableSamples, 10);
    assert.deepEqual(body.data.stats.samples.totalQueryableSamplesPerStep!.map(([t]) => t), [0, 1, 2, 3, 4].map((k) => (at + k * 15_000) / 1000));
    assert.ok(body.data.stats.timings.execQueueTime > 0, 'the worker hand-off takes time');
    assert.ok(body.data.stats.timings.execTotalTime >= body.data.stats.timings.evalTotalTime);
    const plain = JSON.parse(await p.run({ kind: 'instant', query: 'm', time: at }, { timeoutMs: 30_000 })) as { data: object };
    assert.deepEqual(Object.keys(plain.data), ['resultType', 'result']);
  });
});
