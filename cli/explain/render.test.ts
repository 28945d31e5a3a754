import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ScaleDecision, VertexModel } from '../../agent/scaling/decision.ts';
import { ScalingController } from '../../agent/scaling/controller.ts';
import { ObservationBuilder } from '../../agent/scaling/observation-builder.ts';
import { defaultPolicy } from '../../agent/scaling/policy.ts';
import { explainDecision, vertexOutcomes } from './render.ts';

const ENRICH = 'e'.repeat(32);
const SINK = 'f'.repeat(32);

function vertex(p: number, recommended: number): VertexModel {
  return {
    parallelism: p, maxParallelism: 128, trueRate: 1000, trueRateBasis: 'busy-time', targetRate: 1500, catchUpRate: 0, utilization: 1.5,
    recentUtilization: [1.5], busyMax: 0.9, busyAvg: 0.9, skew: 1, skewedByKeys: false, requiredRate: 1500, scalingExponent: 1,
    recommended, steadyRecommended: recommended, recentNeed: recommended, expectedRate: 1500, notes: [],
  };
}

/** The shape the issue reported: one vertex scaled up while another's scale-down waited for its delay. */
function mixed(): ScaleDecision {
  return {
    time: Date.UTC(2026, 11, 7, 10, 0, 0), jobId: 'j'.repeat(32), jobName: 'order-enrichment', action: 'rescale', direction: 'up',
    parallelism: { [ENRICH]: 4, [SINK]: 2 }, recommended: { [ENRICH]: 4, [SINK]: 1 },
    reasons: [`vertex ${ENRICH}: utilization 1.50 above 0.9: 2 → 4`, `vertex ${SINK}: scale-down to 1 pending for 20 s of 5m`],
    blockedBy: 'scale-down-delay',
    perVertex: { [ENRICH]: vertex(2, 4), [SINK]: vertex(2, 1) },
    backlogMode: false, restartCostSec: 5, arrivalRate: 1500, recentArrivalRate: 1500, capacityRate: 1000, lagSeconds: 0,
  };
}

describe('scale explain rendering', () => {
  it('a decision that rescaled never says "blocked by"; the guard is stated on the vertex it held', () => {
    const text = explainDecision(mixed());
    assert.doesNotMatch(text, /blocked by/);
    assert.match(text.split('\n')[0]!, /^2026-12-07T10:00:00\.000Z {2}job order-enrichment \(j{32}\) {2}RESCALE \(up\)$/);
    const rows = text.split('\n').filter((l) => l.startsWith('  eeee') || l.startsWith('  ffff'));
    assert.match(rows[0]!, /rescaled 2→4$/);
    assert.match(rows[1]!, /held at 2 \(model: 1\) by scale-down-delay$/);
  });

  it('a decision-wide guard holds every vertex that wanted a change, and says so per vertex', () => {
    const d: ScaleDecision = { ...mixed(), action: 'none', direction: undefined, blockedBy: 'cooldown', parallelism: { [ENRICH]: 2, [SINK]: 2 }, reasons: ['rescaled 30 s ago; cooldown 2m'] };
    d.perVertex[SINK] = vertex(2, 2);
    const o = vertexOutcomes(d);
    assert.deepEqual(o.map((x) => [x.outcome, x.guard]), [['held', 'cooldown'], ['steady', null]]);
    const text = explainDecision(d);
    assert.match(text.split('\n')[0]!, /no rescale {2}blocked by: cooldown$/);
    assert.match(text, /held at 2 \(model: 4\) by cooldown/);
    assert.match(text, /no change needed/);
  });

  it('agrees with decisions the controller makes', () => {
    const c = new ScalingController(defaultPolicy());
    const b = new ObservationBuilder('job-x', [{ id: 'src', parallelism: 1 }, { id: 'map', parallelism: 2, inputs: [{ id: 'src', shipStrategy: 'REBALANCE' }] }]);
    let d: ScaleDecision | null = null;
    for (let i = 0; i < 12; i++) d = c.step(b.next(15, { src: { inRate: 3000, busy: 0.1, pending: 0 }, map: { inRate: 3000, busy: 0.95 } }));
    assert.ok(d);
    for (const o of vertexOutcomes(d)) {
      if (o.outcome === 'rescaled') assert.notEqual(o.from, o.to);
      else assert.equal(o.from, o.to);
    }
    if (d.action === 'rescale') assert.doesNotMatch(explainDecision(d), /blocked by/);
  });
});
