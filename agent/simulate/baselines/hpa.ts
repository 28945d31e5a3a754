/**
 * Baseline: Flink reactive mode driven by a Kubernetes HorizontalPodAutoscaler on CPU.
 * Every TaskManager change restarts the job with all vertices at the new slot count (capped
 * by each vertex's max parallelism). HPA as documented: sync every 15 s,
 * desired = ceil(replicas * utilization / target), skip within the 10 % tolerance, scale-up
 * limited to max(+100 %, +4 pods) per period, scale-down stabilized over 300 s (highest
 * desired in the window). Target 35 % CPU, min 1, as in the Flink reactive-mode demo
 * (`kubectl autoscale deployment flink-taskmanager --min=1 --max=15 --cpu-percent=35`);
 * max raised to 128 so the cap never decides the comparison.
 */
import type { JobObservation } from '../../scaling/observation.ts';
import type { Autoscaler } from '../runner.ts';

export class HpaCpuBaseline implements Autoscaler {
  name = 'hpa-cpu';
  intervalSec = 15;
  private replicas: number;
  private desiredHistory: Array<[number, number]> = [];
  private readonly target: number;
  private readonly min: number;
  private readonly max: number;

  constructor(initialReplicas: number, opts: { target?: number; min?: number; max?: number } = {}) {
    this.replicas = initialReplicas;
    this.target = opts.target ?? 0.35;
    this.min = opts.min ?? 1;
    this.max = opts.max ?? 128;
  }

  /** All vertices at the slot count, as reactive mode runs them. */
  static parallelismFor(obs: JobObservation, replicas: number): Record<string, number> {
    return Object.fromEntries(obs.vertices.map((v) => [v.id, Math.min(replicas, v.maxParallelism)]));
  }

  step(obs: JobObservation): Record<string, number> | undefined {
    if (obs.state !== 'RUNNING') return undefined;
    const uniform = obs.vertices.every((v) => v.parallelism === Math.min(this.replicas, v.maxParallelism));
    if (!uniform) return HpaCpuBaseline.parallelismFor(obs, this.replicas);
    const util = obs.taskManagers?.cpuLoad?.avg;
    if (util === undefined) return undefined;
    const ratio = util / this.target;
    let desired = Math.abs(ratio - 1) <= 0.1 ? this.replicas : Math.ceil(this.replicas * ratio);
    desired = Math.min(this.max, Math.max(this.min, desired));
    this.desiredHistory.push([obs.time, desired]);
    this.desiredHistory = this.desiredHistory.filter(([t]) => t > obs.time - 300_000);
    if (desired < this.replicas) desired = Math.max(...this.desiredHistory.map(([, d]) => d));
    if (desired > this.replicas) desired = Math.min(desired, Math.max(this.replicas * 2, this.replicas + 4));
    if (desired === this.replicas) return undefined;
    this.replicas = desired;
    return HpaCpuBaseline.parallelismFor(obs, desired);
  }
}
