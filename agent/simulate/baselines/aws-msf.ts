/**
 * Baseline: Amazon Managed Service for Apache Flink automatic scaling, as documented: the
 * application parallelism doubles when containerCPUUtilization (maximum) stays >= 75 % for
 * 15 consecutive 1-minute points, and halves (rounded up) when it stays < 10 % for 6 hours
 * (360 points), never below the configured Parallelism, never above the account's KPU limit
 * (64 KPUs at ParallelismPerKPU 1). Every change is a snapshot and restart of the whole app.
 */
import type { JobObservation } from '../../scaling/observation.ts';
import type { Autoscaler } from '../runner.ts';

export class AwsMsfBaseline implements Autoscaler {
  name = 'aws-msf-cpu';
  intervalSec = 60;
  private parallelism: number;
  private readonly configured: number;
  private readonly maxParallelism: number;
  private high = 0;
  private low = 0;

  constructor(configuredParallelism: number, maxParallelism = 64) {
    this.parallelism = configuredParallelism;
    this.configured = configuredParallelism;
    this.maxParallelism = maxParallelism;
  }

  private apply(obs: JobObservation): Record<string, number> {
    return Object.fromEntries(obs.vertices.map((v) => [v.id, Math.min(this.parallelism, v.maxParallelism)]));
  }

  step(obs: JobObservation): Record<string, number> | undefined {
    if (obs.state !== 'RUNNING') return undefined;
    if (!obs.vertices.every((v) => v.parallelism === Math.min(this.parallelism, v.maxParallelism))) return this.apply(obs);
    const cpu = obs.taskManagers?.cpuLoad?.max;
    if (cpu === undefined) return undefined;
    this.high = cpu >= 0.75 ? this.high + 1 : 0;
    this.low = cpu < 0.1 ? this.low + 1 : 0;
    if (this.high >= 15 && this.parallelism < this.maxParallelism) {
      this.parallelism = Math.min(this.maxParallelism, this.parallelism * 2);
    } else if (this.low >= 360 && this.parallelism > this.configured) {
      this.parallelism = Math.max(this.configured, Math.ceil(this.parallelism / 2));
    } else return undefined;
    this.high = 0;
    this.low = 0;
    return this.apply(obs);
  }
}
