import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseObservationLine, topologicalOrder } from './observation.ts';
import { ObservationBuilder } from './observation-builder.ts';
import { isFlowpilotError } from '../../common/errors.ts';

describe('JobObservation', () => {
  const good = (): string =>
    JSON.stringify(new ObservationBuilder('j', [{ id: 'a', parallelism: 1 }, { id: 'b', parallelism: 2, inputs: [{ id: 'a', shipStrategy: 'HASH' }] }]).next(15, { a: { inRate: 10, busy: 0.1 }, b: { inRate: 10, busy: 0.2 } }));

  it('round-trips a line with defaults applied', () => {
    const o = parseObservationLine(good(), 'f:1');
    assert.equal(o.state, 'RUNNING');
    assert.equal(o.vertices[1]!.inputs[0]!.shipStrategy, 'HASH');
    assert.deepEqual(topologicalOrder(o.vertices).map((v) => v.id), ['a', 'b']);
  });

  it('names the line and the field of a bad observation', () => {
    const bad = JSON.parse(good()) as { vertices: Array<{ parallelism: number }> };
    bad.vertices[1]!.parallelism = 0;
    assert.throws(() => parseObservationLine(JSON.stringify(bad), 'obs.jsonl:7'), (e: unknown) => isFlowpilotError(e, 'FP_OBSERVATION_INVALID') && /^obs\.jsonl:7: field vertices\.1\.parallelism: /.test(e.message));
    assert.throws(() => parseObservationLine('{', 'obs.jsonl:8'), /obs\.jsonl:8: not JSON/);
  });

  it('rejects a graph with a dangling input or a cycle', () => {
    const dangling = JSON.parse(good()) as { vertices: Array<{ inputs: Array<{ id: string }> }> };
    dangling.vertices[1]!.inputs[0]!.id = 'zz';
    assert.throws(() => parseObservationLine(JSON.stringify(dangling), 'x'), /reads from unknown vertex zz/);
    const cycle = JSON.parse(good()) as { vertices: Array<{ inputs: Array<{ id: string; shipStrategy: string }> }> };
    cycle.vertices[0]!.inputs = [{ id: 'b', shipStrategy: 'FORWARD' }];
    assert.throws(() => parseObservationLine(JSON.stringify(cycle), 'x'), /cycle/);
  });
});
