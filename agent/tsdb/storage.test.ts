import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { labelsFromRecord, labelsKey } from './labels.ts';
import { newMatcher } from './matchers.ts';
import { MemoryStorage } from './storage.ts';
import { CHUNK_SAMPLES } from './chunk.ts';

const eq = (n: string, v: string) => newMatcher('=', n, v);

describe('MemoryStorage', () => {
  it('selects series through the label index and returns only samples in the window', () => {
    const st = new MemoryStorage();
    for (let s = 0; s < 50; s++) {
      for (let t = 0; t < 10; t++) st.append({ __name__: 'busy', vertex: `v${s % 5}`, subtask: String(s) }, t * 1000, t);
    }
    const got = st.select([eq('__name__', 'busy'), eq('vertex', 'v3'), newMatcher('=~', 'subtask', '1.*')], 2000, 4000);
    assert.deepEqual(got.map((s) => s.labels['subtask']), ['13', '18']);
    assert.deepEqual(Array.from(got[0]!.t), [2000, 3000, 4000]);
    assert.deepEqual(Array.from(got[0]!.v), [2, 3, 4]);
    assert.equal(st.select([eq('vertex', 'v9')], 0, 10_000).length, 0);
    assert.equal(st.select([newMatcher('!=', 'vertex', 'v0'), eq('__name__', 'busy')], 0, 0).length, 40);
  });

  it('sees series created or dropped after an earlier identical selection', () => {
    const st = new MemoryStorage({ retentionMs: 1000, autoRetention: false });
    const sel = [eq('__name__', 'x')];
    st.append({ __name__: 'x', i: '1' }, 0, 1);
    assert.equal(st.select(sel, 0, 10_000).length, 1);
    st.append({ __name__: 'x', i: '2' }, 5000, 1);
    assert.equal(st.select(sel, 0, 10_000).length, 2);
    st.applyRetention(5000);
    assert.deepEqual(st.select(sel, 0, 10_000).map((s) => s.labels['i']), ['2']);
  });

  it('keeps a selection of one metric name across new series of other names, and drops it on its own', () => {
    const st = new MemoryStorage();
    const sel = [eq('__name__', 'x')];
    st.append({ __name__: 'x', i: '1' }, 0, 1);
    const first = st.select(sel, 0, 10);
    st.append({ __name__: 'ALERTS', alertname: 'A' }, 0, 1);
    st.append({ other: 'nameless' }, 0, 1);
    // Same cached series list: the window objects differ, their labels objects are the stored ones.
    assert.equal(st.select(sel, 0, 10)[0]!.labels, first[0]!.labels);
    assert.equal(st.select([newMatcher('=~', '__name__', 'x|ALERTS')], 0, 10).length, 2);
    assert.equal(st.select([eq('__name__', '')], 0, 10).length, 1);
    st.append({ other: 'nameless2' }, 0, 1);
    assert.equal(st.select([eq('__name__', '')], 0, 10).length, 2, 'a nameless series invalidates __name__=""');
    st.append({ __name__: 'x', i: '0' }, 0, 1);
    assert.deepEqual(st.select(sel, 0, 10).map((s) => s.labels['i']), ['0', '1']);
    st.clear();
    assert.equal(st.select(sel, 0, 10).length, 0);
  });

  it('revives a series through an old reference after retention dropped it', () => {
    const st = new MemoryStorage({ retentionMs: 1000 });
    const ref = st.ref({ __name__: 'r', a: '1' })!;
    st.appendRef(ref, 0, 1);
    st.append({ __name__: 'r', a: '2' }, 5000, 1);
    st.applyRetention(5000);
    assert.deepEqual(st.select([eq('__name__', 'r')], 0, 10_000).map((s) => s.labels['a']), ['2']);
    assert.equal(st.appendRef(ref, 6000, 7), 'ok');
    const got = st.select([eq('__name__', 'r'), eq('a', '1')], 0, 10_000);
    assert.deepEqual(got.map((s) => [...s.v]), [[7]]);
    assert.deepEqual(st.labelValues('a'), ['1', '2']);
  });

  it('returns series in label order', () => {
    const st = new MemoryStorage();
    for (const i of ['b', 'a', 'c']) st.append({ __name__: 'x', i }, 0, 1);
    assert.deepEqual(st.select([eq('__name__', 'x')], 0, 0).map((s) => s.labels['i']), ['a', 'b', 'c']);
  });

  it('keeps stale markers as flags that the window reports', () => {
    const st = new MemoryStorage();
    const l = { __name__: 'up', instance: 'a' };
    st.append(l, 0, 1);
    st.appendStaleMarker(l, 1000);
    const [s] = st.select([eq('__name__', 'up')], 0, 1000);
    assert.deepEqual(Array.from(s!.stale ?? []), [0, 1]);
    assert.ok(Number.isNaN(s!.v[1]));
    assert.equal(st.markStale([l], 2000), 0, 'an already stale series gets no second marker');
    st.append(l, 3000, 5);
    assert.equal(st.markStale([labelsFromRecord(l), { __name__: 'nope' }], 4000), 1);
  });

  it('drops samples beyond retention and forgets series left empty', () => {
    const st = new MemoryStorage({ retentionMs: 10_000, autoRetention: false });
    st.append({ __name__: 'old' }, 0, 1);
    for (let t = 0; t <= 20_000; t += 1000) st.append({ __name__: 'live' }, t, t);
    const dropped = st.applyRetention(20_000);
    // Whole chunks go: the 'old' series' one sample; 'live' keeps its head chunk, hidden before the cut.
    assert.equal(dropped, 1);
    assert.equal(st.seriesCount, 1);
    assert.deepEqual(st.labelValues('__name__'), ['live']);
    assert.equal(st.select([eq('__name__', 'live')], 0, 100_000)[0]!.t[0], 10_000);
  });

  it('applies retention by itself as sample time advances', () => {
    const st = new MemoryStorage({ retentionMs: 60_000, autoRetention: true });
    for (let t = 0; t <= 600_000; t += 1000) st.append({ __name__: 'auto' }, t, t);
    st.append({ __name__: 'gone' }, 0, 1);
    const [s] = st.select([eq('__name__', 'auto')], 0, Infinity);
    // Retention drops whole compressed chunks, so up to one chunk older than the cut remains.
    const slack = 60_000 / 20 / 1000 + CHUNK_SAMPLES;
    assert.ok(s!.t.length <= 61 + slack, `kept ${s!.t.length} samples`);
    assert.ok(s!.t[0]! >= 600_000 - 60_000 - slack * 1000);
    const manual = new MemoryStorage({ retentionMs: 60_000, autoRetention: false });
    for (let t = 0; t <= 600_000; t += 1000) manual.append({ __name__: 'auto' }, t, t);
    assert.equal(manual.stats().samples, 601);
  });

  it('grows its ring buffers past their first capacity without losing order', () => {
    const st = new MemoryStorage({ retentionMs: 50_000 });
    for (let t = 0; t < 1000; t++) {
      st.append({ __name__: 'r' }, t * 1000, t);
      if (t % 100 === 0) st.applyRetention(t * 1000);
    }
    const [s] = st.select([eq('__name__', 'r')], 0, Infinity);
    for (let i = 1; i < s!.t.length; i++) assert.ok(s!.t[i]! > s!.t[i - 1]!);
    assert.equal(s!.v[s!.v.length - 1], 999);
  });

  it('refuses new series beyond the limit, counts them in a metric and logs once', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } });
    const st = new MemoryStorage({ maxSeries: 2, logger: pino({ level: 'info' }, sink) });
    const registry = new Registry();
    st.registerMetrics(registry);
    assert.equal(st.append({ __name__: 'a' }, 0, 1), 'ok');
    assert.equal(st.append({ __name__: 'b' }, 0, 1), 'ok');
    assert.equal(st.append({ __name__: 'c' }, 0, 1), 'series_limit');
    assert.equal(st.append({ __name__: 'd' }, 0, 1), 'series_limit');
    assert.equal(st.append({ __name__: 'a' }, 1000, 2), 'ok', 'existing series still take samples');
    const text = await registry.metrics();
    assert.match(text, /flowpilot_tsdb_series_limit_rejections_total 2/);
    assert.match(text, /flowpilot_tsdb_series 2/);
    assert.equal(lines.filter((l) => l.includes('series limit')).length, 1);
  });

  it('rejects out-of-order samples and ignores exact duplicates', () => {
    const st = new MemoryStorage();
    st.append({ __name__: 'o' }, 5000, 1);
    assert.equal(st.append({ __name__: 'o' }, 4000, 1), 'out_of_order');
    assert.equal(st.append({ __name__: 'o' }, 5000, 1), 'duplicate');
    assert.equal(st.append({ __name__: 'o' }, 5000, 2), 'out_of_order');
    assert.equal(st.stats().outOfOrderSamples, 2);
  });

  it('lists label names and values, optionally filtered by matchers', () => {
    const st = new MemoryStorage();
    st.append({ __name__: 'x', job: 'a', env: 'prod' }, 0, 1);
    st.append({ __name__: 'y', job: 'b' }, 0, 1);
    assert.deepEqual(st.labelNames(), ['__name__', 'env', 'job']);
    assert.deepEqual(st.labelNames([eq('__name__', 'y')]), ['__name__', 'job']);
    assert.deepEqual(st.labelValues('job'), ['a', 'b']);
    assert.deepEqual(st.labelValues('job', [eq('env', 'prod')]), ['a']);
    assert.deepEqual(st.series([eq('job', 'b')]), [labelsFromRecord({ __name__: 'y', job: 'b' })]);
  });
});
