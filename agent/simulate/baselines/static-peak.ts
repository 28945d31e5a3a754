/**
 * Baseline: static provisioning for the peak. Each vertex gets, from the start, the smallest
 * parallelism whose capacity (known exactly from the plant) carries the trace's peak rate at
 * the given utilization (0.8). It never rescales; it is the cost ceiling without autoscaling.
 */
import { plantCapacity, type PlantConfig } from '../plant.ts';
import type { Autoscaler } from '../runner.ts';

export function peakParallelism(plant: PlantConfig, peakRate: number, utilization = 0.8): Record<string, number> {
  const gain = new Map<string, number>();
  const out: Record<string, number> = {};
  const pending = [...plant.vertices];
  while (pending.length > 0) {
    const i = pending.findIndex((v) => v.inputs.every((x) => gain.has(x.id)));
    const v = pending.splice(i, 1)[0]!;
    const g = v.inputs.length === 0 ? 1 : v.inputs.reduce((s, x) => s + gain.get(x.id)! * plant.vertices.find((u) => u.id === x.id)!.selectivity, 0);
    gain.set(v.id, g);
    const need = (peakRate * g) / utilization;
    let p = 1;
    while (p < v.maxParallelism && plantCapacity(v, p) < need) p++;
    out[v.id] = p;
  }
  return out;
}

export class StaticBaseline implements Autoscaler {
  name = 'static-peak';
  intervalSec = 60;
  step(): undefined {
    return undefined;
  }
}
