import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Worker } from 'node:worker_threads';
import { MemoryStorage } from '../tsdb/storage.ts';
import { promErrorType } from './errors.ts';
import { QueryPool, type QueryRequest } from './query-pool.ts';
import { nestedQuantiles } from '../../test/support/slow-queries.ts';

/** Slow whatever the data (about 22 s on this 2-core machine idle, against the 2 s timeout below). */
const SLOW = nestedQuantiles(5);

function pool(t: { after(fn: () => unknown): void }, storage: MemoryStorage, maxConcurrency = 4): QueryPool {
  const p = new QueryPool({ storage, maxConcurrency, lookbackDeltaMs: 300_000, maxSamples: 50_000_000, graceMs: 1000 });
  p.start();
  t.after(() => p.stop());
  return p;
}

/** Waits until the worker has loaded and answers (it starts in the background). */
async function ready(p: QueryPool): Promise<void> {
  const r = await outcome(p.run(instant('1', 0), { timeoutMs: 30_000 }));
  assert.equal(r.type, 'success');
}

async function outcome(p: Promise<string>): Promise<{ type: string; message: string; body: unknown }> {
  try {
    const body = JSON.parse(await p) as { data: unknown };
    return { type: 'success', message: '', body: body.data };
  } catch (err) {
    return { type: promErrorType(err) ?? `untyped: ${String(err)}`, message: (err as Error).message, body: null };
  }
}

const instant = (query: string, time: number): QueryRequest => ({ kind: 'instant', query, time });

function fill(st: MemoryStorage, series: number, fromMs: number, toMs: number): void {
  for (let s = 0; s < series; s++) for (let t = fromMs; t <= toMs; t += 15_000) st.append({ __name__: 'm', i: String(s) }, t, t / 1000 + s);
}

describe('QueryPool', () => {
  it('answers from a replica that holds every sample appended before the query, including a snapshot taken at start', async (t) => {
    const st = new MemoryStorage({ retentionMs: 3_600_000 });
    fill(st, 3, 0, 600_000);
    const p = pool(t, st);
    st.append({ __name__: 'late', job: 'x' }, 600_000, 42);
    st.appendStaleMarker({ __name__: 'm', i: '0' }, 615_000);
    // The first query also waits for the worker to load (seconds, tens of them on a loaded machine).
    const r = await outcome(p.run(instant('late', 600_000), { timeoutMs: 60_000 }));
    assert.equal(r.type, 'success', r.message);
    assert.deepEqual(r.body, { resultType: 'vector', result: [{ metric: { __name__: 'late', job: 'x' }, value: [600, '42'] }] });
    const m = await outcome(p.run(instant('count(m)', 615_000), { timeoutMs: 10_000 }));
    assert.deepEqual(m.body, { resultType: 'vector', result: [{ metric: {}, value: [615, '2'] }] });
    const series = await outcome(p.run({ kind: 'series', match: ['m'], start: -Infinity, end: Infinity }, { timeoutMs: 10_000 }));
    assert.equal((series.body as unknown[]).length, 3);
    // Retention runs on the replica at the same point of the log as on the store.
    fill(st, 3, 3_600_000 * 2, 3_600_000 * 2);
    st.applyRetention(3_600_000 * 2);
    const left = await outcome(p.run({ kind: 'series', match: ['{__name__=~".+"}'], start: -Infinity, end: Infinity }, { timeoutMs: 10_000 }));
    assert.equal(st.seriesCount, 3);
    assert.equal((left.body as unknown[]).length, 3);
  });

  it('queues queries past max concurrency and answers a queued one "timed out in query queue" at its deadline', async (t) => {
    const st = new MemoryStorage();
    fill(st, 20, 0, 600_000);
    const p = pool(t, st, 1);
    await ready(p);
    const slow = outcome(p.run(instant(SLOW, 600_000), { timeoutMs: 2000 }));
    await new Promise((r) => setImmediate(r));
    assert.equal(p.active, 1);
    const t0 = performance.now();
    const queued = await outcome(p.run(instant('m', 600_000), { timeoutMs: 300 }));
    assert.equal(queued.type, 'timeout');
    assert.equal(queued.message, 'query timed out in query queue');
    assert.ok(performance.now() - t0 < 1000);
    const s = await slow;
    assert.equal(s.type, 'timeout');
    assert.equal(s.message, 'query timed out in expression evaluation');
    // Whether the worker stopped the slow query itself or was replaced after the grace period (on a
    // loaded machine), the next query is answered: it is never posted to a stuck worker and failed
    // with it, and it waits for a replacement to load (seconds on a loaded machine).
    const after = await outcome(p.run(instant('count(m)', 600_000), { timeoutMs: 30_000 }));
    assert.equal(after.type, 'success', after.message);
  });

  it('cancels a running query when its client goes away', async (t) => {
    const st = new MemoryStorage();
    fill(st, 20, 0, 600_000);
    const p = pool(t, st);
    await ready(p);
    const ac = new AbortController();
    const running = outcome(p.run(instant(SLOW, 600_000), { timeoutMs: 30_000, signal: ac.signal }));
    setTimeout(() => ac.abort(), 200);
    const t0 = performance.now();
    const r = await running;
    assert.equal(r.type, 'canceled');
    assert.equal(r.message, 'query was canceled in expression evaluation');
    assert.ok(performance.now() - t0 < 3000);
  });

  it('fails the queries of a worker that dies as unavailable, and starts a new one from a snapshot', async (t) => {
    const st = new MemoryStorage();
    fill(st, 5, 0, 600_000);
    const p = pool(t, st);
    const running = outcome(p.run(instant(SLOW, 600_000), { timeoutMs: 30_000 }));
    await new Promise((r) => setTimeout(r, 100));
    await (p as unknown as { worker: Worker }).worker.terminate();
    const r = await running;
    assert.equal(r.type, 'unavailable');
    st.append({ __name__: 'after', job: 'x' }, 600_000, 1);
    const again = await (async () => {
      for (;;) {
        // Unavailable only while the dead worker's successor may not start yet; then the query waits
        // for the new worker to load (seconds on a loaded machine) within its timeout.
        const o = await outcome(p.run(instant('count({__name__=~"m|after"})', 600_000), { timeoutMs: 30_000 }));
        if (o.type !== 'unavailable') return o;
        await new Promise((res) => setTimeout(res, 200));
      }
    })();
    assert.deepEqual(again.body, { resultType: 'vector', result: [{ metric: {}, value: [600, '6'] }] });
    assert.equal(p.spawns, 2);
  });
});
