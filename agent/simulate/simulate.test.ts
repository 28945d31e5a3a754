import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compare, referencePlant, singleVertexPlant } from './scenario.ts';
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

describe('simulator: week-long traces, Flink slot accounting, one-knob plant (issue 13)', () => {
  it('bursty: ~100 bursts a week of 2-4x the rate under them, on a daily cycle', () => {
    const t = syntheticTrace('bursty', 1);
    assert.ok(t.hours >= 168);
    // Count burst onsets: minutes whose rate is >= 1.8x the daily base around them.
    let bursts = 0;
    let inBurst = false;
    let maxRatio = 0;
    for (let s = 0; s < t.hours * 3600; s += 60) {
      const day = (s % 86400) / 86400;
      const base = 2000 + (4000 * (1 - Math.cos(2 * Math.PI * (day - 4 / 24)))) / 2;
      const ratio = t.rate(s) / base;
      maxRatio = Math.max(maxRatio, ratio);
      if (ratio >= 1.8 && !inBurst) bursts++;
      inBurst = ratio >= 1.8;
    }
    assert.ok(bursts >= 60 && bursts <= 150, `${bursts} bursts`);
    assert.ok(maxRatio <= 4.01 && maxRatio >= 3, `highest burst ${maxRatio.toFixed(2)}x`);
    const other = syntheticTrace('bursty', 2);
    let differ = false;
    for (let s = 0; s < 86400 && !differ; s += 60) differ = other.rate(s) !== t.rate(s);
    assert.ok(differ, 'another seed, other bursts');
  });

  it('gaps: near-zero periods of 20-40 min, once or twice a day; start-at-peak: starts in a spike', () => {
    const g = syntheticTrace('gaps', 3);
    let gaps: number[] = [];
    let run = 0;
    for (let s = 0; s < g.hours * 3600; s += 60) {
      if (g.rate(s) < 100) run += 60;
      else if (run > 0) { gaps.push(run); run = 0; }
    }
    gaps = gaps.filter((x) => x >= 600);
    assert.ok(gaps.length >= 7 && gaps.length <= 14, `${gaps.length} gaps`);
    assert.ok(gaps.every((x) => x >= 1140 && x <= 2460), `gap lengths ${gaps.join(', ')}`);
    const p = syntheticTrace('start-at-peak', 3);
    assert.ok(p.hours >= 168);
    assert.equal(p.rate(0), 9000);
    assert.equal(p.rate(30 * 60), 3000);
  });

  it('counts slots as Flink does by default (slot sharing: the highest parallelism)', () => {
    const plant = new Plant(referencePlant(0), 1, SIM_START_MS);
    const obs = plant.observe(SIM_START_MS + 1000);
    assert.equal(obs.taskManagers!.count, 6, 'max of 2, 3, 6, 1');
    const r = runSimulation({ trace: { name: 'flat', hours: 0.1, peak: 1000, rate: () => 1000 }, autoscaler: { name: 'none', intervalSec: 60, step: () => undefined }, plant: referencePlant(0), seed: 1 });
    assert.ok(Math.abs(r.slotHours - 0.6) < 1e-9, `slot-hours ${r.slotHours}`);
  });

  it('reports a restart as the REST API would: RUNNING timestamp and restore duration, whatever the input', () => {
    const plant = new Plant({ ...singleVertexPlant(0), restartBaseSec: 20, stateBytes: 2e9 }, 1, SIM_START_MS);
    let t = SIM_START_MS;
    plant.rescale({ job: 4 }, t);
    const until = plant.downUntil;
    while (t < until + 5000) plant.tick((t += 1000), 1, 0); // a quiet gap: nothing arrives
    const obs = plant.observe(t);
    assert.equal(obs.state, 'RUNNING');
    assert.equal(obs.runningSince! + obs.checkpoints!.lastRestoreMs!, until, 'RUNNING + restore = the end of the downtime');
    assert.equal(obs.vertices[0]!.recordsIn, 0, 'no records flow, yet the job is up');
  });

  it('runs the one-vertex, one-knob job in closed loop', () => {
    const r = compare({ trace: syntheticTrace('step'), policy: defaultPolicy(), hours: 2, seed: 1, plant: singleVertexPlant(), only: ['flowpilot', 'flink-autoscaler'] });
    assert.equal(r.length, 2);
    assert.ok(r[0]!.rescales >= 1, 'flowpilot answers the x4 step');
    assert.ok(r[0]!.sloViolationMin < r[1]!.sloViolationMin, `flowpilot ${r[0]!.sloViolationMin} vs flink ${r[1]!.sloViolationMin} SLO minutes`);
  });
});
