/** Shared by the chunk tests: a series filled from samples, and a bit-exact round-trip check. */
import assert from 'node:assert/strict';
import { ChunkPool, bitsHi, bitsLo, bitsOf } from './chunk.ts';
import { labelsFromRecord } from './labels.ts';
import { MemSeries } from './series.ts';

const L = labelsFromRecord({ __name__: 'x' });

export interface Sample { t: number; v: number; stale: boolean }

/** A series with every sample appended (each append must be accepted). */
export function fill(samples: Sample[], pool = new ChunkPool()): MemSeries {
  const s = new MemSeries(1, L, pool);
  for (const x of samples) assert.equal(s.append(x.t, x.v, x.stale), 'ok', `append ${x.t}`);
  return s;
}

/** A value's 64 bits as hex (NaN payloads, -0 and stale markers told apart). */
export function bits(v: number): string {
  bitsOf(v);
  return `${(bitsHi >>> 0).toString(16)}:${(bitsLo >>> 0).toString(16)}`;
}

/** Decodes everything and compares bit for bit (values) and exactly (times, stale flags, count). */
export function assertRoundTrip(s: MemSeries, want: Sample[], msg = ''): void {
  const w = s.window(-Infinity, Infinity);
  assert.deepEqual(w.t, want.map((x) => x.t), `${msg} timestamps`);
  for (let i = 0; i < want.length; i++) {
    const stale = w.stale?.[i] === 1;
    assert.equal(stale, want[i]!.stale, `${msg} sample ${i} stale flag`);
    if (!stale) assert.equal(bits(w.v[i]!), bits(want[i]!.v), `${msg} sample ${i}: ${w.v[i]} != ${want[i]!.v}`);
    else assert.ok(Number.isNaN(w.v[i]!));
  }
  assert.equal(s.length, want.length);
}
