import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compare, referencePlant } from './scenario.ts';
import { runSimulation, SIM_START_MS } from './runner.ts';
import { csvTrace, syntheticTrace } from './traces.ts';
import { defaultPolicy } from '../scaling/policy.ts';
import { FlinkAutoscalerBaseline } from './baselines/flink-autoscaler.ts';
import { FlowpilotAutoscaler } from './flowpilot.ts';
import { Plant, plantCapacity } from './plant.ts';

describe('simulator', () => {
  it('is deterministic for a seed and changes with the seed', () => {
    const trace = syntheticTrace('spikes', 3);
    const a = compare({ trace, policy: defaultPolicy(), hours: 3, seed: 7, only: ['flowpilot', 'flink-autoscaler'] });
    const b = compare({ trace, policy: defaultPolicy(), hours: 3, seed: 7, only: ['flowpilot', 'flink-autoscaler'] });
    const c = compare({ trace, policy: defaultPolicy(), hours: 3, seed: 8, only: ['flowpilot', 'flink-autoscaler'] });
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  it('charges restart downtime as backlog and lag', () => {
    const plant = new Plant(referencePlant(0), 1, SIM_START_MS);
    let t = SIM_START_MS;
    for (let i = 0; i < 10; i++) plant.tick((t += 1000), 1, 4000);
    assert.ok(plant.backlog < 1);
    plant.rescale({ parse: 4 }, t);
    for (let i = 0; i < 10; i++) plant.tick((t += 1000), 1, 4000);
    assert.ok(plant.backlog >= 39_000, `backlog ${plant.backlog}`);
  });

  it('caps keyed capacity by the busiest subtask\'s key groups', () => {
    const enrich = referencePlant().vertices.find((v) => v.id === 'enrich')!;
    // 128 key groups on 5 subtasks: the busiest holds 26, so capacity is 128/26 subtasks' worth.
    const per = 1500 * Math.pow(5, 0.85 - 1);
    assert.ok(Math.abs(plantCapacity(enrich, 5) - (per * 128) / 26) < 1e-6);
  });

  it('runs the Flink-autoscaler baseline with its published timing: nothing before stabilization + window, scale-down after 1 h', () => {
    const flink = new FlinkAutoscalerBaseline();
    const trace = { name: 'drop', hours: 3, peak: 8000, rate: (t: number): number => (t < 1800 ? 8000 : 1000) };
    const rescales: number[] = [];
    const wrapped = { name: flink.name, intervalSec: flink.intervalSec, step: (o: Parameters<typeof flink.step>[0]) => { const r = flink.step(o); if (r) rescales.push(o.time - SIM_START_MS); return r; } };
    runSimulation({ trace, autoscaler: wrapped, plant: { ...referencePlant(0), initialParallelism: { source: 4, parse: 6, enrich: 12, sink: 2 } }, seed: 1 });
    assert.ok(rescales.length > 0, 'it scales down eventually');
    // First evaluation after 5 min stabilization + a full 15 min window; a scale-down then waits 1 h.
    assert.ok(rescales[0]! >= (5 + 15 + 60) * 60_000, `first rescale at ${rescales[0]! / 1000} s`);
    assert.ok(rescales[0]! <= (5 + 15 + 60 + 2) * 60_000, `first rescale at ${rescales[0]! / 1000} s`);
  });

  it('lets flowpilot react to a x4 step in minutes where the Flink baseline needs 20', () => {
    const trace = syntheticTrace('step');
    const fp = new FlowpilotAutoscaler(defaultPolicy());
    runSimulation({ trace, autoscaler: fp, plant: referencePlant(), hours: 1.5, seed: 2 });
    const firstUp = fp.decisions.find((d) => d.action === 'rescale' && d.direction === 'up')!;
    assert.ok(firstUp.time - SIM_START_MS - 3600_000 <= 60_000, `first scale-up ${(firstUp.time - SIM_START_MS - 3600_000) / 1000} s after the step`);
  });

  it('reads CSV traces with interpolation', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-trace-'));
    try {
      const f = join(dir, 't.csv');
      writeFileSync(f, 'seconds,rate\n0,1000\n600,3000\n');
      const t = csvTrace(f);
      assert.equal(t.rate(300), 2000);
      assert.equal(t.rate(9999), 3000);
      assert.equal(t.peak, 3000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
