import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { planVertex, unmeasured } from './vertex-plan.ts';
import { policySchema } from './policy-schema.ts';
import type { VertexRates } from './capacity.ts';
import type { VertexObservation } from './observation.ts';

const policy = policySchema.parse({});

const source: VertexObservation = {
  id: 'src', parallelism: 2, maxParallelism: 128, inputs: [], recordsIn: 0, recordsOut: 0,
  busyMsPerSecond: { avg: 100, max: 100 }, backPressuredMsPerSecond: { avg: 800, max: 800 },
};

function rates(r: Partial<VertexRates>): VertexRates {
  return { trueRate: 1090, basis: 'busy-time', targetRate: 538, catchUpRate: 391, utilization: (538 + 391) / 1090, busyMax: 0.1, busyAvg: 0.1, backPressured: 0, inRate: 107, ...r };
}

/** An interval in which the source read nothing and was not busy: it waited on output credit throughout. */
const stalled = rates({ trueRate: 0, basis: 'unknown', utilization: Number.POSITIVE_INFINITY, busyMax: 0, busyAvg: 0, inRate: 0 });

function plan(recent: VertexRates[], window: Partial<VertexRates> = {}, v: VertexObservation = source) {
  return planVertex({ v, long: rates(window), short: rates(window), recent, policy, restartSec: 5, catchUpSec: 300, points: [], forecastFactor: 1 });
}

describe('planVertex', () => {
  // From the autoscaler e2e under a CPU hog per core: the source's latest 1 s interval had no
  // records and no busy time (backpressured throughout), its utilization came out infinite, and it
  // "joined the rescale" 2 -> 3 although its measured capacity (1090 rec/s) covered the demand.
  it('does not count an interval without records or busy time as running hot', () => {
    const p = plan([rates({ utilization: 0.93 }), stalled]);
    assert.equal(p.rideAlongUp, 2, 'a stalled interval does not make the source ride along');
    assert.equal(p.upTriggered, false);
    assert.deepEqual(p.model.recentUtilization, [0.93]);
    assert.ok(p.model.notes.some((n) => n.includes('capacity unknown there')), p.model.notes.join('; '));
  });

  it('still counts an interval that was busy yet processed nothing (a stuck vertex) as hot', () => {
    const stuck = rates({ trueRate: 0, basis: 'unknown', utilization: Number.POSITIVE_INFINITY, busyMax: 1, busyAvg: 1, inRate: 0 });
    assert.equal(unmeasured(stuck, policy.utilization.target), false);
    const p = plan([stuck, stuck]);
    assert.equal(p.model.recentUtilization.length, 2);
    assert.ok(p.model.recentUtilization.every((x) => x >= 1e9));
  });

  it('an interval with a remembered capacity is measured', () => {
    assert.equal(unmeasured(rates({ basis: 'unknown', trueRate: 500, busyMax: 0 }), 0.8), false);
    assert.equal(unmeasured(stalled, 0.8), true);
  });
});
