import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CHUNK_SAMPLES, ChunkPool, PAGE_SIZE } from './chunk.ts';
import { MemSeries } from './series.ts';
import { assertRoundTrip, fill, type Sample } from './chunk-testing.ts';

function bytesPerSample(s: MemSeries): number {
  return s.sampleBytes / s.length;
}

describe('Gorilla chunks', () => {
  it('round-trips edge values bit for bit: NaN, StaleNaN, +-Inf, -0, extremes, equal runs', () => {
    const edge = [NaN, Infinity, -Infinity, -0, 0, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, 2 ** 53, -(2 ** 53), 1, 1, 1, 0.1, 0.1];
    const samples: Sample[] = [];
    let t = 1_700_000_000_000;
    for (let rep = 0; rep < 30; rep++) {
      for (const v of edge) samples.push({ t: (t += 5000), v, stale: false });
      samples.push({ t: (t += 5000), v: NaN, stale: true });
      samples.push({ t: (t += 5000), v: NaN, stale: true });
    }
    const s = fill(samples);
    assertRoundTrip(s, samples, 'edge');
    assert.ok(s.chunkCount > 1, 'spans several chunks');
  });

  it('round-trips integer chunks through every delta-of-delta width and escape: NaN, StaleNaN, -0, fractions, +-2^53', () => {
    const vs = [5, 5, 6, 8, 8 + 63, 8 + 63 - 64, 1000, -1000, 9000, 500_000, -600_000, 2 ** 30, -(2 ** 31), 2 ** 40, 2 ** 53, -(2 ** 53), 0, -0, 0, 1.5, 2, NaN, 3, Infinity, 4, 4];
    const samples: Sample[] = [];
    let t = 1e12;
    for (let rep = 0; rep < 12; rep++) {
      for (const v of vs) samples.push({ t: (t += 5000), v, stale: false });
      samples.push({ t: (t += 5000), v: NaN, stale: true });
      samples.push({ t: (t += 5000), v: rep, stale: false });
    }
    const s = fill(samples);
    assertRoundTrip(s, samples, 'integers');
    assert.ok(s.chunkCount >= 3);
  });

  it('round-trips timestamps with huge gaps, negative and fractional times, and irregular steps', () => {
    const ts = [-8.64e15, -1e12, -5, 0, 1, 2, 3, 8191, 16383, 16384, 100_000, 2 ** 31, 2 ** 32 + 1, 2 ** 40, 2 ** 40 + 0.5, 2 ** 40 + 0.75, 2 ** 52, 8.64e15, 2 ** 53];
    const samples = ts.map((t, i) => ({ t, v: i, stale: false }));
    assertRoundTrip(fill(samples), samples, 'gaps');
  });

  it('round-trips any increasing timestamps and any 64-bit values (property)', () => {
    const arb = fc.array(fc.record({ dt: fc.oneof(fc.constant(5000), fc.integer({ min: 1, max: 70_000 }), fc.integer({ min: 1, max: 2 ** 40 }), fc.double({ min: 0.001, max: 1e6, noNaN: true })), v: fc.oneof(fc.double(), fc.integer().map((x) => x * 1.0), fc.constant(NaN), fc.constant(-0)), stale: fc.integer({ min: 0, max: 19 }).map((x) => x === 0) }), { maxLength: 400 });
    fc.assert(fc.property(arb, (raw: Array<{ dt: number; v: number; stale: boolean }>) => {
      let t = 1_600_000_000_000;
      const samples: Sample[] = [];
      for (const r of raw) {
        const next = t + r.dt;
        if (!(next > t)) continue;
        t = next;
        samples.push({ t, v: r.stale ? NaN : r.v, stale: r.stale });
      }
      assertRoundTrip(fill(samples), samples);
    }), { numRuns: 200, seed: 16 });
  });

  it('compresses regular scrapes: constants and integer counters well under 2 bytes per sample', () => {
    const n = CHUNK_SAMPLES * 12;
    const constant = Array.from({ length: n }, (_, i) => ({ t: 1e12 + i * 5000, v: 42, stale: false }));
    let c = 0;
    let seed = 3;
    const counter = constant.map((x) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return { ...x, v: (c += 800 + (seed % 400)) };
    });
    const sc = fill(constant);
    const sk = fill(counter);
    assertRoundTrip(sc, constant);
    assertRoundTrip(sk, counter);
    assert.ok(bytesPerSample(sc) < 0.7, `constant ${bytesPerSample(sc)} bytes/sample`);
    assert.ok(bytesPerSample(sk) < 2, `counter ${bytesPerSample(sk)} bytes/sample`);
    assert.equal(sc.chunkCount, 12);
  });

  it('answers windows across chunk boundaries and drops whole chunks on retention, releasing pages', () => {
    const pool = new ChunkPool();
    const all: MemSeries[] = [];
    const samples = Array.from({ length: CHUNK_SAMPLES * 5 + 7 }, (_, i) => ({ t: i * 1000, v: Math.sin(i) * 1e6, stale: false }));
    // Distinct values per series: equal chunks would be shared (tested below), not paged.
    for (let k = 0; k < 400; k++) all.push(fill(k === 0 ? samples : samples.map((x) => ({ ...x, v: x.v + k })), pool));
    const s = all[0]!;
    // Windows that start and end on and around chunk boundaries.
    for (const [a, b] of [[119_000, 120_000], [119_500, 240_000], [0, 0], [239_000, 360_500], [600_000, 10_000_000], [-5, 119_999]] as const) {
      const w = s.window(a, b);
      const want = samples.filter((x) => x.t >= a && x.t <= b);
      assert.deepEqual(w.t, want.map((x) => x.t), `window ${a}..${b}`);
      assert.deepEqual(w.v, want.map((x) => x.v));
    }
    assert.deepEqual(s.latest(0, 120_500).t, [120_000]);
    assert.deepEqual(s.latest(0, 1e9).t, [samples.at(-1)!.t]);
    const pagesBefore = pool.pagesHeld;
    // Cut inside the third chunk: the first two go, the third stays whole.
    for (const x of all) assert.equal(x.truncateBefore(CHUNK_SAMPLES * 2 * 1000 + 50_000), CHUNK_SAMPLES * 2);
    assert.equal(s.window(-Infinity, Infinity).t[0], CHUNK_SAMPLES * 2 * 1000);
    for (const x of all) x.truncateBefore(CHUNK_SAMPLES * 5 * 1000);
    assert.equal(s.length, 7, 'only the head chunk is left');
    assert.ok(pool.pagesHeld < pagesBefore, `pages ${pagesBefore} -> ${pool.pagesHeld}`);
    for (const x of all) x.truncateBefore(1e12);
    assert.equal(s.length, 0);
    assert.equal(pool.closedBytes, 0);
    assert.equal(pool.headBytes, 0);
    assert.ok(pool.pagesHeld * PAGE_SIZE <= 2 * PAGE_SIZE, 'only head slot pages stay');
  });

  it('treats out-of-order and duplicate samples as before, stale markers included', () => {
    const s = fill([{ t: 1000, v: 1, stale: false }]);
    assert.equal(s.append(1000, 1, false), 'duplicate');
    assert.equal(s.append(1000, 2, false), 'out_of_order');
    assert.equal(s.append(999, 1, false), 'out_of_order');
    assert.equal(s.append(1000, NaN, true), 'out_of_order');
    assert.equal(s.append(2000, NaN, true), 'ok');
    assert.ok(s.isStale());
    assert.equal(s.append(2000, NaN, false), 'out_of_order');
    assert.equal(s.latest(0, 5000).stale?.[0], 1);
    assert.equal(s.append(3000, NaN, false), 'ok');
    assert.ok(!s.isStale(), 'a plain NaN is not a stale marker');
  });
});
