/**
 * /api/v1/status/tsdb from the agent's store: head figures (series, label pairs, chunks as
 * the store holds them, 120 samples each plus an open head chunk as Prometheus's head, min and max sample time) and the top-N breakdowns,
 * computed by MemoryStorage.cardinality and answered through the status route.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStorage } from '../tsdb/index.ts';
import { statusRoute } from './prometheus-status.ts';

const T0 = 1_700_000_000_000;

function filled(): MemoryStorage {
  const st = new MemoryStorage({ retentionMs: 24 * 3600_000 });
  // 3 series of `a` with 250 samples each (3 Prometheus chunks each), 1 series of `bb` with 5 samples.
  for (let k = 0; k < 250; k++) for (const pod of ['p1', 'p2', 'p3']) st.append({ __name__: 'a', pod, job: 'j' }, T0 + k * 1000, k);
  for (let k = 0; k < 5; k++) st.append({ __name__: 'bb', job: 'j', zone: 'é' }, T0 + 100_000 + k * 1000, k);
  return st;
}

describe('status/tsdb from the store', () => {
  it('reports the head as Prometheus does', () => {
    const s = filled().cardinality(10);
    assert.deepEqual(s.headStats, {
      numSeries: 4,
      // __name__=a, __name__=bb, job=j, pod=p1..p3, zone=é
      numLabelPairs: 7,
      chunkCount: 3 * 3 + 1,
      minTime: T0,
      maxTime: T0 + 249_000,
    });
    assert.deepEqual(s.seriesCountByMetricName, [{ name: 'a', value: 3 }, { name: 'bb', value: 1 }]);
    assert.deepEqual(s.labelValueCountByLabelName, [{ name: 'pod', value: 3 }, { name: '__name__', value: 2 }, { name: 'job', value: 1 }, { name: 'zone', value: 1 }]);
    // Bytes of values times the series carrying them: pod 3 x 2, __name__ 3 x 1 + 1 x 2, job 4 x 1, zone 1 x 2 (é is 2 bytes).
    assert.deepEqual(s.memoryInBytesByLabelName, [{ name: 'pod', value: 6 }, { name: '__name__', value: 5 }, { name: 'job', value: 4 }, { name: 'zone', value: 2 }]);
    assert.deepEqual(s.seriesCountByLabelValuePair.slice(0, 2), [{ name: 'job=j', value: 4 }, { name: '__name__=a', value: 3 }]);
    assert.equal(filled().cardinality(1).seriesCountByLabelValuePair.length, 1);
  });

  it('follows retention: min time moves, dropped series leave the counts', () => {
    const st = filled();
    st.applyRetention(T0 + 24 * 3600_000 + 200_000);
    const s = st.cardinality();
    assert.equal(s.headStats.numSeries, 3);
    assert.equal(s.headStats.minTime, T0 + 200_000);
    // Retention drops whole chunks: the chunk of samples 120..239 straddles the cut and stays, with the head chunk.
    assert.equal(s.headStats.chunkCount, 3 * 2);
    assert.deepEqual(s.seriesCountByMetricName, [{ name: 'a', value: 3 }]);
  });

  it('is zero for an empty store, and answers through the route with limit', () => {
    assert.deepEqual(new MemoryStorage().cardinality().headStats, { numSeries: 0, numLabelPairs: 0, chunkCount: 0, minTime: 0, maxTime: 0 });
    const st = filled();
    const r = statusRoute('status/tsdb', new URLSearchParams('limit=2'), { tsdb: (n) => st.cardinality(n) }, '0');
    const data = r!.data as { seriesCountByLabelValuePair: unknown[]; headStats: { numSeries: number } };
    assert.equal(data.headStats.numSeries, 4);
    assert.equal(data.seriesCountByLabelValuePair.length, 2);
  });
});
