import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chainingOutput, ChainingOutput, DirectOutput } from './outputs.ts';
import { FilterOperator, FlatMapOperator, MapOperator } from './basic.ts';
import { StreamOperator, type Output } from './operator.ts';
import { Collecting, noop } from './testing.ts';

/** map(x*10) -> filter(odd tens dropped) -> flatMap(x, x+1) -> Collecting, linked as a chain links them. */
function chain(): { head: Output; sink: Collecting } {
  const map = new MapOperator((x) => (x as number) * 10);
  const filter = new FilterOperator((x) => (x as number) % 20 === 0);
  const flat = new FlatMapOperator((x, out) => {
    out.collect(x);
    out.collect((x as number) + 1);
  });
  const sink = new Collecting();
  map.output = chainingOutput(filter);
  filter.output = chainingOutput(flat);
  flat.output = chainingOutput(sink);
  sink.output = noop;
  return { head: chainingOutput(map), sink };
}

describe('chaining outputs', () => {
  it('hands records one by one to elementwise operators and batches only in front of the others', () => {
    assert.ok(chainingOutput(new MapOperator((x) => x)) instanceof DirectOutput);
    assert.ok(chainingOutput(new Collecting()) instanceof ChainingOutput);
    const { head, sink } = chain();
    for (let i = 0; i < 6; i++) head.collect(i, Number.NaN);
    assert.equal(sink.batches.length, 0, 'nothing reaches a batching operator before the flush');
    head.flush();
    assert.deepEqual(sink.batches.map((b) => b.records), [[0, 1, 20, 21, 40, 41]]);
    assert.ok(sink.batches[0]!.timestamps.every((t) => Number.isNaN(t)));
  });

  it('keeps each record timestamp through the chain, NaN for records without one in the same batch', () => {
    const { head, sink } = chain();
    head.collect(0, Number.NaN);
    head.collect(2, 7);
    head.collect(4, Number.NaN);
    head.flush();
    assert.deepEqual(sink.batches[0]!.records, [0, 1, 20, 21, 40, 41]);
    assert.deepEqual(sink.batches[0]!.timestamps, [Number.NaN, Number.NaN, 7, 7, Number.NaN, Number.NaN]);
    head.collect(6, Number.NaN);
    head.flush();
    assert.ok(sink.batches[1]!.timestamps.every((t) => Number.isNaN(t)), 'a new batch starts without timestamps');
  });

  it('hands over dense batches of exactly the records collected, whatever the previous batch size was', () => {
    const sink = new Collecting();
    sink.output = noop;
    const out = chainingOutput(sink);
    const sizes = [5, 1, 0, 7, 3000, 2, 5000, 1];
    let v = 0;
    const expected: number[][] = [];
    for (const n of sizes) {
      const batch: number[] = [];
      for (let i = 0; i < n; i++) {
        out.collect(v, Number.NaN);
        batch.push(v++);
      }
      void out.flush();
      if (n > 0) expected.push(batch);
    }
    assert.deepEqual(sink.batches.map((b) => b.records), expected);
    for (const b of sink.batches) for (let i = 0; i < b.records.length; i++) assert.ok(i in b.records, 'no holes in a batch');
  });

  it('gives every batch a fresh array (the receiver may keep it) and flushes records before a watermark', () => {
    const { head, sink } = chain();
    head.collect(0, 1);
    head.flush();
    head.collect(2, 2);
    head.emitWatermark(5);
    assert.deepEqual(sink.batches.map((b) => b.records), [[0, 1], [20, 21]]);
    assert.notEqual(sink.batches[0]!.records, sink.batches[1]!.records);
    assert.deepEqual(sink.watermarks, [5]);
  });
});
