import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Packr, Unpackr } from 'msgpackr';
import { BatchDecoder, BatchEncoder } from './batch-codec.ts';

const roundTrip = (records: unknown[]) => new BatchDecoder().decode(new BatchEncoder().encode(records));
/** What the wire gave before the columnar format: the codec must give exactly the same. */
const viaMsgpack = (records: unknown[]) => new Unpackr({ useRecords: true }).unpack(new Packr({ useRecords: true }).pack(records)) as unknown[];

test('flat records of one shape go column by column and come back equal', () => {
  const records = Array.from({ length: 600 }, (_, i) => ({ key: `k${i % 7}`, value: i * 3 - 100, ratio: i / 7, ok: i % 2 === 0, name: i % 3 ? 'ü€😀' : '' }));
  const bytes = new BatchEncoder().encode(records);
  assert.equal(bytes[0], 1, 'columnar format');
  assert.deepEqual(new BatchDecoder().decode(bytes), records);
});

test('a string column whose values repeat goes once per distinct value, and decodes equal', () => {
  const keys = Array.from({ length: 30 }, (_, i) => `key-${i}-ü`);
  const records = Array.from({ length: 2000 }, (_, i) => ({ key: keys[(i * 7) % 30]!, n: i }));
  const bytes = new BatchEncoder().encode(records);
  assert.equal(bytes[0], 1, 'columnar');
  // 4 bytes per int and 2 per dictionary index, the 30 words once: far less than the text per record (8+ bytes each).
  assert.ok(bytes.length < 2000 * 6 + 30 * 12 + 64, `dictionary column: ${bytes.length} bytes`);
  assert.deepEqual(new BatchDecoder().decode(bytes), records);
  // Mostly distinct values (ids) go as text, and still decode equal; so does an empty-string column.
  const ids = Array.from({ length: 300 }, (_, i) => ({ id: `id-${i}`, blank: '' }));
  const idBytes = new BatchEncoder().encode(ids);
  assert.ok(idBytes.length > 300 * 4, 'per-record text');
  assert.deepEqual(new BatchDecoder().decode(idBytes), ids);
  // An index past the dictionary is refused, not read as undefined.
  const two = new BatchEncoder().encode(Array.from({ length: 16 }, (_, i) => ({ s: i % 2 ? 'a' : 'b' })));
  const bad = Buffer.from(two);
  bad.writeUInt16LE(2, bad.length - 2);
  assert.throws(() => new BatchDecoder().decode(bad), /corrupt string column/);
});

test('[timestamp, record] entries keep their timestamps', () => {
  const records = Array.from({ length: 50 }, (_, i) => [i === 3 ? Number.NaN : 1_700_000_000_000 + i, { id: i, w: `w${i}` }]);
  const bytes = new BatchEncoder().encode(records);
  assert.equal(bytes[0], 1);
  assert.deepEqual(new BatchDecoder().decode(bytes), records);
});

test('anything that is not flat and of one shape goes as msgpack, unchanged', () => {
  const cases: unknown[][] = [
    Array.from({ length: 20 }, (_, i) => (i === 10 ? { key: 'a', other: 1 } : { key: 'a', value: 1 })), // mixed shape
    Array.from({ length: 20 }, (_, i) => ({ key: 'a', value: i === 5 ? 'x' : 1 })), // mixed kinds
    Array.from({ length: 20 }, () => ({ key: 'a', nested: { x: 1 } })),
    Array.from({ length: 20 }, () => ({ key: null })),
    Array.from({ length: 20 }, (_, i) => i),
    Array.from({ length: 20 }, () => ({ s: 'a\uD800b' })), // lone surrogate (msgpack replaces it, as before)
    [{ a: 1 }], // too small to pay off
  ];
  for (const records of cases) {
    const bytes = new BatchEncoder().encode(records);
    const decoded = new BatchDecoder().decode(bytes);
    assert.deepEqual(decoded, viaMsgpack(records));
  }
  assert.equal(new BatchEncoder().encode(cases[0]!)[0], 0);
  // msgpack turns -0 into 0; a float64 column keeps it.
  const zeros = roundTrip(Array.from({ length: 20 }, () => ({ z: -0 })));
  assert.ok(Object.is((zeros[0] as { z: number }).z, -0));
  assert.equal(new Unpackr({ useRecords: true }).unpack(new BatchEncoder().encode(cases[4]!).subarray(1)).length, 20);
});

test('a payload at an odd offset of a larger chunk decodes (columns are copied out aligned)', () => {
  const records = Array.from({ length: 40 }, (_, i) => ({ a: i, b: i + 0.5 }));
  const bytes = new BatchEncoder().encode(records);
  const chunk = Buffer.alloc(bytes.length + 3);
  chunk.set(bytes, 3);
  assert.deepEqual(new BatchDecoder().decode(chunk.subarray(3)), records);
});

test('a truncated or unknown payload is refused, not misread', () => {
  const bytes = new BatchEncoder().encode(Array.from({ length: 40 }, (_, i) => ({ a: i, s: `x${i}` })));
  assert.throws(() => new BatchDecoder().decode(bytes.subarray(0, bytes.length - 3)), /record batch/);
  assert.throws(() => new BatchDecoder().decode(Uint8Array.of(9, 0)), /unknown record batch format/);
  // A peer's field named __proto__ would set the records' prototype in the compiled literal.
  const named = Buffer.from(new BatchEncoder().encode(Array.from({ length: 8 }, (_, i) => ({ __proto_x: i }))));
  assert.equal(named[0], 1, 'columnar');
  named.write('__proto__', named.indexOf('__proto_x'), 'utf8');
  assert.throws(() => new BatchDecoder().decode(named), /__proto__/);
});

test('property: any array of JSON-like records decodes exactly as msgpack gave it', () => {
  const value = fc.oneof(fc.integer(), fc.double({ noNaN: true }).map((x) => (x === 0 ? 0 : x)) /* msgpack loses -0, columns keep it */, fc.string(), fc.boolean(), fc.constant(null));
  const shaped = fc
    .uniqueArray(fc.string({ minLength: 1, maxLength: 6 }).filter((s) => s !== '__proto__'), { minLength: 1, maxLength: 4 })
    .chain((keys) => fc.array(fc.record(Object.fromEntries(keys.map((k) => [k, fc.oneof(fc.integer(), fc.string())]))), { minLength: 0, maxLength: 40 }));
  fc.assert(fc.property(shaped, (records) => assert.deepEqual(roundTrip(records), viaMsgpack(records))), { numRuns: 200 });
  const dict = fc.dictionary(fc.string({ maxLength: 4 }), value);
  fc.assert(fc.property(fc.array(dict, { maxLength: 30 }), (records) => assert.deepEqual(roundTrip(records), viaMsgpack(records))), { numRuns: 200 });
  // One shape repeated, so the columnar path is taken with arbitrary keys and values.
  fc.assert(fc.property(dict, fc.integer({ min: 8, max: 40 }), (r, n) => {
    const records = Array.from({ length: n }, () => ({ ...r }));
    assert.deepEqual(roundTrip(records), viaMsgpack(records));
  }), { numRuns: 200 });
});
