import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CHUNK_SAMPLES, ChunkPool } from './chunk.ts';
import { assertRoundTrip, bits, fill, type Sample } from './chunk-testing.ts';

const regular = (vs: readonly number[], stale: (i: number) => boolean = () => false): Sample[] =>
  vs.map((v, i) => ({ t: 1_765_000_000_000 + i * 5000, v: stale(i) ? NaN : v, stale: stale(i) }));

/** A uniform [0, 1) hashed from k (independent across k). */
function noise(k: number): number {
  let h = Math.imul(k ^ 0x9e3779b9, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

/** A deterministic uniform [0, 1). */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 4294967296;
}

describe('integer chunks (slope-predicted residuals, scales 1, 1/60, 1/1000)', () => {
  it('round-trips edge values mixed into integer chunks: NaN, StaleNaN, +-Inf, -0, fractions, integers beyond 2^53', () => {
    const vs = [7, 8, 10, NaN, 11, Infinity, 12, -Infinity, 13, -0, 14, 0, 0.5, 15, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 2 ** 60, 16, 1e300, -5, 3.25, 17];
    const all: number[] = [];
    for (let rep = 0; rep < 15; rep++) all.push(...vs.map((v) => (Number.isFinite(v) && Number.isInteger(v) && Math.abs(v) < 1e6 ? v + rep * 100 : v)));
    const samples = regular(all, (i) => i % 37 === 5);
    const s = fill(samples);
    assertRoundTrip(s, samples, 'edges');
    assert.ok(s.chunkCount > 2, 'spans chunks');
  });

  it('round-trips residuals of every width, 0 to 52 bits, in both signs', () => {
    const vs: number[] = [0];
    let v = 0;
    for (let w = 0; w <= 52; w++) {
      for (const sign of [1, -1]) {
        v = sign * Math.floor(2 ** w * 0.75);
        vs.push(v, v, v + 1);
      }
    }
    const samples = regular(vs);
    assertRoundTrip(fill(samples), samples, 'widths');
  });

  it('stores sixtieths (Flink MeterView rates) and thousandths exactly, and switches an integer chunk to them', () => {
    const r = lcg(5);
    const rates = Array.from({ length: 300 }, () => Math.floor(500_000 + 20_000 * r()) / 60);
    const millis = Array.from({ length: 300 }, () => Math.floor(r() * 1e6) / 1000);
    // Integer first value, then sixtieths: the chunk changes scale at the first sixtieth.
    const mixed = [60, 61, 62, ...rates.slice(0, 100), 5, 6.5, 1e-3, ...millis.slice(0, 50)];
    for (const [name, vs] of [['rates', rates], ['millis', millis], ['mixed', mixed]] as const) {
      const samples = regular(vs);
      const s = fill(samples);
      assertRoundTrip(s, samples, name);
    }
    const s = fill(regular(rates));
    assert.ok(s.sampleBytes / s.length < 3, `rates ${s.sampleBytes / s.length} bytes/sample`);
  });

  it('round-trips any mix of integers, scaled values and escapes (property)', () => {
    const value = fc.oneof(
      fc.integer({ min: -1e6, max: 1e6 }).map((x) => x * 1.0),
      fc.integer({ min: -1e9, max: 1e9 }).map((x) => x / 60),
      fc.integer({ min: -1e9, max: 1e9 }).map((x) => x / 1000),
      fc.double(),
      fc.constantFrom(NaN, -0, Infinity, -Infinity, 2 ** 53, -(2 ** 53), 2 ** 53 + 2, Number.MAX_SAFE_INTEGER),
    );
    const series = fc.array(fc.record({ step: fc.integer({ min: -3, max: 1e6 }), v: value, jump: fc.integer({ min: 0, max: 9 }), stale: fc.integer({ min: 0, max: 29 }) }), { maxLength: 400 });
    fc.assert(fc.property(series, (raw) => {
      let acc = 0;
      const vs = raw.map((x) => (x.jump < 6 ? (acc += x.step) : x.v));
      const samples = regular(vs, (i) => raw[i]!.stale === 0);
      assertRoundTrip(fill(samples), samples);
    }), { numRuns: 300, seed: 160 });
  });

  it('compresses Flink shapes: counters with +-40 % increments, MeterView rates, busy time', () => {
    const r = lcg(9);
    const n = CHUNK_SAMPLES * 12;
    const rate = 25_000; // records per 5 s
    const count = (k: number): number => Math.floor(rate * k + 0.4 * rate * noise(k));
    const counter = Array.from({ length: n }, (_, k) => count(k));
    const meter = Array.from({ length: n }, (_, k) => (count(k + 12) - count(k)) / 60);
    const busy = Array.from({ length: n }, () => Math.round(600 + 40 * (r() - 0.5)));
    for (const [name, vs, max] of [['counter', counter, 2.75], ['meter', meter, 2.8], ['busy', busy, 1.6]] as const) {
      const samples = regular(vs);
      const s = fill(samples);
      assertRoundTrip(s, samples, name);
      const b = s.sampleBytes / s.length;
      assert.ok(b < max, `${name}: ${b.toFixed(3)} bytes/sample`);
    }
  });

  it('rejects out-of-order and duplicate samples in integer chunks without touching the stream', () => {
    const samples = regular([1, 2, 3, 5, 8]);
    const s = fill(samples);
    assert.equal(s.append(samples[2]!.t, 4, false), 'out_of_order');
    assert.equal(s.append(samples[4]!.t, 8, false), 'duplicate');
    assert.equal(s.append(samples[4]!.t, 9, false), 'out_of_order');
    assertRoundTrip(s, samples, 'after rejections');
  });
});

describe('closed chunks shared between series with equal samples', () => {
  it('keeps one copy of equal chunks, reads both series, and frees it with its last owner', () => {
    const pool = new ChunkPool();
    const vs = Array.from({ length: CHUNK_SAMPLES * 3 + 5 }, (_, i) => i * 100 + (i % 7));
    const samples = regular(vs);
    const a = fill(samples, pool);
    const b = fill(samples, pool);
    const c = fill(regular(vs.map((v) => v + 1)), pool);
    assert.equal(pool.closedChunks, 6, 'a and b share their 3 closed chunks, c has its own 3');
    assert.equal(pool.sharedOwners, 3);
    assertRoundTrip(a, samples, 'a');
    assertRoundTrip(b, samples, 'b');
    assert.ok(Math.abs(a.sampleBytes - b.sampleBytes) < 1e-9, 'the shared bytes are split between owners');
    a.release();
    assert.equal(pool.closedChunks, 6);
    assertRoundTrip(b, samples, 'b after a went');
    const bytes = pool.closedBytes;
    b.truncateBefore(samples[CHUNK_SAMPLES]!.t);
    assert.ok(pool.closedBytes < bytes, 'the last owner dropping a chunk frees it');
    b.release();
    c.release();
    assert.equal(pool.closedChunks, 0);
    assert.equal(pool.closedBytes, 0);
    assert.equal(pool.sharedOwners, 0);
  });

  it('makes a new copy past 256 owners and never shares chunks that differ in a time', () => {
    const pool = new ChunkPool();
    const samples = regular(Array.from({ length: CHUNK_SAMPLES + 1 }, () => 0));
    const all = Array.from({ length: 300 }, () => fill(samples, pool));
    assert.equal(pool.closedChunks, 2);
    const shifted = samples.map((x, i) => (i === 50 ? { ...x, t: x.t + 1 } : x));
    fill(shifted, pool);
    assert.equal(pool.closedChunks, 3);
    for (const s of all) assertRoundTrip(s, samples);
    for (const s of all) s.release();
    assert.equal(pool.closedChunks, 1);
  });
});
