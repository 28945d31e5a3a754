import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { chainOutputs, FusedOutput } from './fused.ts';
import { chainingOutput, ChainingOutput, DirectOutput } from './outputs.ts';
import { FilterOperator, FlatMapOperator, MapOperator } from './basic.ts';
import { StreamOperator, type Output } from './operator.ts';
import { Collecting, noop } from './testing.ts';

type Step = { kind: 'map'; k: number } | { kind: 'filter'; m: number } | { kind: 'flatMap' };

function makeOps(steps: Step[]): { ops: StreamOperator[]; sink: Collecting } {
  const ops: StreamOperator[] = steps.map((s) => {
    if (s.kind === 'map') return new MapOperator((x) => (x as number) * s.k + 1);
    if (s.kind === 'filter') return new FilterOperator((x) => (x as number) % s.m !== 0);
    return new FlatMapOperator((x, out) => {
      out.collect(x);
      out.collect(-(x as number));
    });
  });
  const sink = new Collecting();
  return { ops: [...ops, sink], sink };
}

/** Links `ops` as chain.ts does (fused), and returns the output in front of the first one. */
function linkFused(ops: StreamOperator[]): Output {
  const outs = chainOutputs([new Collecting(), ...ops], noop);
  ops.forEach((op, i) => (op.output = outs[i + 1]!));
  return outs[0]!;
}

/** Links `ops` one by one (DirectOutput / ChainingOutput only), as before fusion. */
function linkPlain(ops: StreamOperator[]): Output {
  ops.forEach((op, i) => (op.output = i + 1 < ops.length ? chainingOutput(ops[i + 1]!) : noop));
  return chainingOutput(ops[0]!);
}

describe('fused map/filter runs in a chain', () => {
  it('fuses a run of maps and filters into one output and stops at an operator that is not a map or filter', () => {
    const { ops } = makeOps([{ kind: 'map', k: 3 }, { kind: 'filter', m: 5 }, { kind: 'flatMap' }, { kind: 'map', k: 2 }]);
    const head = new Collecting();
    const outs = chainOutputs([head, ...ops], noop);
    assert.ok(outs[0] instanceof FusedOutput, 'head -> map -> filter is one fused output');
    assert.ok(outs[1] instanceof FusedOutput, 'map -> filter');
    assert.ok(outs[2] instanceof DirectOutput, 'filter -> flatMap: flatMap is called per record, not fused');
    assert.ok(outs[3] instanceof FusedOutput, 'flatMap -> map');
    assert.ok(outs[4] instanceof ChainingOutput, 'map -> sink batches');
    assert.equal(outs[5], noop);
  });

  it('gives the same records, timestamps, batches and watermarks as the unfused chain', () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant('map' as const), k: fc.integer({ min: -3, max: 3 }) }),
      fc.record({ kind: fc.constant('filter' as const), m: fc.integer({ min: 2, max: 4 }) }),
      fc.constant({ kind: 'flatMap' as const }),
    );
    // An event: a record (with or without a timestamp), a flush, or a watermark.
    const event = fc.oneof(
      { weight: 6, arbitrary: fc.tuple(fc.integer({ min: -50, max: 50 }), fc.option(fc.integer({ min: 0, max: 99 }), { nil: undefined })).map(([v, t]) => ({ v, t })) },
      { weight: 1, arbitrary: fc.constant('flush' as const) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 99 }).map((w) => ({ w })) },
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 6 }), fc.array(event, { maxLength: 40 }), (steps, events) => {
        const fused = makeOps(steps);
        const plain = makeOps(steps);
        const heads = [linkFused(fused.ops), linkPlain(plain.ops)];
        for (const e of events) {
          for (const h of heads) {
            if (e === 'flush') void h.flush();
            else if ('w' in e) void h.emitWatermark(e.w);
            else h.collect(e.v, e.t ?? Number.NaN);
          }
        }
        for (const h of heads) void h.flush();
        assert.deepEqual(fused.sink.batches, plain.sink.batches);
        assert.deepEqual(fused.sink.watermarks, plain.sink.watermarks);
        assert.deepEqual(
          fused.ops.map((op) => op.currentWatermark),
          plain.ops.map((op) => op.currentWatermark),
          'every operator of the run still sees the watermark',
        );
      }),
      { numRuns: 300 },
    );
  });

  it('calls the functions in order, once per record, and lets their exceptions through', () => {
    const calls: string[] = [];
    const map = new MapOperator((x) => {
      calls.push(`map ${String(x)}`);
      if (x === 3) throw new Error('boom');
      return x;
    });
    const filter = new FilterOperator((x) => {
      calls.push(`filter ${String(x)}`);
      return true;
    });
    const sink = new Collecting();
    const head = linkFused([map, filter, sink]);
    head.collect(1, Number.NaN);
    head.collect(2, Number.NaN);
    assert.throws(() => head.collect(3, Number.NaN), /boom/);
    assert.deepEqual(calls, ['map 1', 'filter 1', 'map 2', 'filter 2', 'map 3']);
    void head.flush();
    assert.deepEqual(sink.batches.map((b) => b.records), [[1, 2]]);
  });
});
