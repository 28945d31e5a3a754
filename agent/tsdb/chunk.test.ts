import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeChunk, encodeChunk } from './chunk.ts';

function roundTrip(ts: number[], vs: number[]): { ts: number[]; vs: number[]; bytes: number } {
  const c = encodeChunk(ts, vs, 0, ts.length);
  const out = { ts: [] as number[], vs: [] as number[] };
  decodeChunk(c, out.ts, out.vs);
  assert.equal(c.count, ts.length);
  assert.equal(c.minT, ts[0]);
  assert.equal(c.maxT, ts[ts.length - 1]);
  return { ...out, bytes: c.bytes.length };
}

describe('sample chunks', () => {
  it('round-trips regular scrapes of a counter and stays small', () => {
    const ts = Array.from({ length: 120 }, (_, i) => 1_700_000_000_000 + i * 15_000);
    const vs = ts.map((_, i) => i * 37);
    const r = roundTrip(ts, vs);
    assert.deepEqual(r.ts, ts);
    assert.deepEqual(r.vs, vs);
    assert.ok(r.bytes < 120 * 6, `${r.bytes} bytes`);
  });

  it('round-trips a constant series in about two bytes per sample', () => {
    const ts = Array.from({ length: 120 }, (_, i) => i * 5000);
    const vs = ts.map(() => 1);
    const r = roundTrip(ts, vs);
    assert.deepEqual(r.vs, vs);
    assert.ok(r.bytes <= 16 + 1 + 119 * 2, `${r.bytes} bytes`);
  });

  it('round-trips irregular timestamps and arbitrary values bit for bit', () => {
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (let run = 0; run < 50; run++) {
      const n = 1 + Math.floor(rnd() * 200);
      const ts: number[] = [];
      const vs: number[] = [];
      let t = -5_000_000 + Math.floor(rnd() * 1e7);
      for (let i = 0; i < n; i++) {
        t += 1 + Math.floor(rnd() * (rnd() < 0.1 ? 1e9 : 30_000));
        ts.push(t);
        const kind = rnd();
        vs.push(kind < 0.1 ? NaN : kind < 0.15 ? Infinity : kind < 0.2 ? -0 : kind < 0.5 ? Math.floor(rnd() * 1000) : (rnd() - 0.5) * 1e300 * rnd());
      }
      const r = roundTrip(ts, vs);
      assert.deepEqual(r.ts, ts);
      for (let i = 0; i < n; i++) assert.ok(Object.is(r.vs[i], vs[i]), `run ${run} sample ${i}: ${r.vs[i]} != ${vs[i]}`);
    }
  });
});
