/**
 * The reference job the simulator runs and the comparison of autoscalers on one trace.
 * The job: a partitioned source (24 partitions; busy time under-reported), a parse map, a
 * keyed enrichment/aggregation (128 key groups, sublinear, p^0.85), and a sink; restart
 * downtime 20 s + 4 GB of state restored at 200 MB/s; slots counted with slot sharing, as Flink
 * does by default. Beside it, the one-vertex, one-knob job. Every autoscaler starts from the same
 * parallelism (the reactive/whole-job ones from its maximum) and is measured identically.
 */
import type { ScalingPolicy } from '../scaling/policy-schema.ts';
import { FlowpilotError } from '../../common/errors.ts';
import type { PlantConfig } from './plant.ts';
import { runSimulation, type SimResult } from './runner.ts';
import type { Trace } from './traces.ts';
import { FlowpilotAutoscaler } from './flowpilot.ts';
import { FlinkAutoscalerBaseline } from './baselines/flink-autoscaler.ts';
import { HpaCpuBaseline } from './baselines/hpa.ts';
import { AwsMsfBaseline } from './baselines/aws-msf.ts';
import { peakParallelism, StaticBaseline } from './baselines/static-peak.ts';

export function referencePlant(noise = 0.05): PlantConfig {
  return {
    jobId: 'sim-job',
    vertices: [
      { id: 'source', inputs: [], perSubtaskRate: 5000, exponent: 1, selectivity: 1, maxParallelism: 128, partitions: 24, busyReportFactor: 0.35 },
      { id: 'parse', inputs: [{ id: 'source', shipStrategy: 'REBALANCE' }], perSubtaskRate: 2500, exponent: 0.95, selectivity: 1, maxParallelism: 128 },
      { id: 'enrich', inputs: [{ id: 'parse', shipStrategy: 'HASH' }], perSubtaskRate: 1500, exponent: 0.85, selectivity: 0.2, maxParallelism: 128 },
      { id: 'sink', inputs: [{ id: 'enrich', shipStrategy: 'REBALANCE' }], perSubtaskRate: 3000, exponent: 1, selectivity: 0, maxParallelism: 128 },
    ],
    initialParallelism: { source: 2, parse: 3, enrich: 6, sink: 1 },
    restartBaseSec: 20,
    stateBytes: 4e9,
    restoreBytesPerSec: 200e6,
    noise,
    // Flink's default: every vertex in one slot-sharing group, slots = the highest parallelism.
    slotSharing: true,
  };
}

/**
 * The one-vertex, one-knob job: everything chained into one task (many users set a single
 * job-wide parallelism): 1000 rec/s per subtask, mildly sublinear (p^0.95), 20 s restart, no
 * state to speak of. Its only vertex is a source, so its capacity is known only from what it
 * delivered or caught up.
 */
export function singleVertexPlant(noise = 0.05): PlantConfig {
  return {
    jobId: 'sim-job-1v',
    vertices: [{ id: 'job', inputs: [], perSubtaskRate: 1000, exponent: 0.95, selectivity: 0, maxParallelism: 128 }],
    initialParallelism: { job: 8 },
    restartBaseSec: 20,
    stateBytes: 0,
    restoreBytesPerSec: 200e6,
    noise,
    slotSharing: true,
  };
}

export const plantNames = ['job4', 'single'] as const;

export function plantByName(name: string, noise = 0.05): PlantConfig {
  if (name === 'job4' || name === 'reference') return referencePlant(noise);
  if (name === 'single' || name === 'one-vertex') return singleVertexPlant(noise);
  throw new FlowpilotError('FP_SIM_TRACE', `unknown plant "${name}"; use job4 (4 vertices) or single (one vertex, one knob)`);
}

export const baselineNames = ['flowpilot', 'flink-autoscaler', 'hpa-cpu', 'aws-msf-cpu', 'static-peak'] as const;

export interface CompareOptions {
  trace: Trace;
  policy: ScalingPolicy;
  hours?: number;
  seed?: number;
  sloSec?: number;
  only?: readonly string[];
  plant?: PlantConfig;
}

export function compare(o: CompareOptions): SimResult[] {
  const plant = o.plant ?? referencePlant();
  const uniform = Math.max(...Object.values(plant.initialParallelism));
  const common = { trace: o.trace, ...(o.hours !== undefined ? { hours: o.hours } : {}), seed: o.seed ?? 1, sloSec: o.sloSec ?? 60 };
  const runs: Array<[string, () => SimResult]> = [
    ['flowpilot', () => runSimulation({ ...common, plant, autoscaler: new FlowpilotAutoscaler(o.policy) })],
    ['flink-autoscaler', () => runSimulation({ ...common, plant, autoscaler: new FlinkAutoscalerBaseline() })],
    ['hpa-cpu', () => runSimulation({ ...common, plant: { ...plant, initialParallelism: uniformOf(plant, uniform) }, autoscaler: new HpaCpuBaseline(uniform) })],
    ['aws-msf-cpu', () => runSimulation({ ...common, plant: { ...plant, initialParallelism: uniformOf(plant, uniform) }, autoscaler: new AwsMsfBaseline(uniform) })],
    ['static-peak', () => runSimulation({ ...common, plant: { ...plant, initialParallelism: peakParallelism(plant, o.trace.peak) }, autoscaler: new StaticBaseline() })],
  ];
  return runs.filter(([n]) => !o.only || o.only.includes(n)).map(([, run]) => run());
}

function uniformOf(plant: PlantConfig, p: number): Record<string, number> {
  return Object.fromEntries(plant.vertices.map((v) => [v.id, Math.min(p, v.maxParallelism)]));
}

export function formatTable(trace: string, results: readonly SimResult[]): string {
  const head = '| trace | autoscaler | slot-hours | SLO-violation min | p99 lag s | max lag s | rescales | rescales/h | reversals <10 min |';
  const sep = '|---|---|---:|---:|---:|---:|---:|---:|---:|';
  const rows = results.map(
    (r) => `| ${trace} | ${r.name} | ${r.slotHours.toFixed(1)} | ${r.sloViolationMin.toFixed(1)} | ${r.p99LagSec.toFixed(0)} | ${r.maxLagSec.toFixed(0)} | ${r.rescales} | ${r.rescalesPerHour.toFixed(2)} | ${r.reversals} |`,
  );
  return [head, sep, ...rows].join('\n');
}
