/**
 * The closed loop: a trace feeds arrivals into the plant tick by tick; every metric interval
 * the autoscaler under test sees one observation and may ask for new parallelism, which the
 * plant carries out with its restart downtime. The run is measured the same way for every
 * autoscaler: slot-hours, minutes with lag above the SLO (lag = age of the oldest unconsumed
 * record), p99 and max lag, rescales, and reversals (a rescale against the previous one's
 * direction within 10 minutes). Deterministic for a seed; runs far faster than real time.
 */
import type { JobObservation } from '../scaling/observation.ts';
import { parseObservation } from '../scaling/observation.ts';
import { Plant, type PlantConfig } from './plant.ts';
import type { Trace } from './traces.ts';

export interface Autoscaler {
  name: string;
  /** seconds between observations */
  intervalSec: number;
  /** returns the new parallelism per vertex to rescale to, or undefined to keep it */
  step(obs: JobObservation): Record<string, number> | undefined;
}

export interface SimResult {
  name: string;
  hours: number;
  slotHours: number;
  sloViolationMin: number;
  p99LagSec: number;
  maxLagSec: number;
  rescales: number;
  rescalesPerHour: number;
  reversals: number;
}

export interface SimOptions {
  trace: Trace;
  autoscaler: Autoscaler;
  plant: PlantConfig;
  hours?: number;
  seed?: number;
  tickSec?: number;
  sloSec?: number;
  startMs?: number;
}

export const SIM_START_MS = Date.UTC(2026, 0, 5, 0, 0, 0);

function slots(p: Record<string, number>, sharing: boolean): number {
  const ps = Object.values(p);
  return sharing ? Math.max(...ps) : ps.reduce((a, b) => a + b, 0);
}

export function runSimulation(o: SimOptions): SimResult {
  const hours = o.hours ?? o.trace.hours;
  const tick = o.tickSec ?? 1;
  const slo = o.sloSec ?? 60;
  const start = o.startMs ?? SIM_START_MS;
  const plant = new Plant(o.plant, o.seed ?? 1, start);
  const n = Math.round((hours * 3600) / tick);
  const arrCum = new Float64Array(n + 1);
  let consumedCum = 0;
  let j = 0;
  const lags = new Float64Array(n);
  let slotSeconds = 0;
  let violations = 0;
  const rescales: Array<{ t: number; dir: number }> = [];
  let reversals = 0;
  const every = Math.max(1, Math.round(o.autoscaler.intervalSec / tick));
  for (let i = 0; i < n; i++) {
    const now = start + i * tick * 1000;
    const arrival = o.trace.rate(i * tick);
    arrCum[i + 1] = arrCum[i]! + arrival * tick;
    consumedCum += plant.tick(now, tick, arrival);
    while (j < i + 1 && arrCum[j + 1]! <= consumedCum + 1e-6) j++;
    // The oldest unconsumed record arrived during tick j.
    const lag = consumedCum >= arrCum[i + 1]! - 1e-6 ? 0 : (i + 1 - j) * tick;
    lags[i] = lag;
    if (lag > slo) violations += tick;
    slotSeconds += slots(plant.parallelism, o.plant.slotSharing) * tick;
    if ((i + 1) % every === 0) {
      const obsTime = now + tick * 1000;
      const obs = parseObservation(plant.observe(obsTime), `${o.autoscaler.name}@${obsTime}`);
      const next = o.autoscaler.step(obs);
      if (next && plant.running(obsTime)) {
        const before = slots(plant.parallelism, o.plant.slotSharing);
        const merged = { ...plant.parallelism, ...next };
        const changed = Object.keys(merged).some((k) => merged[k] !== plant.parallelism[k]);
        if (changed) {
          const dir = Math.sign(slots(merged, o.plant.slotSharing) - before) || 1;
          const prev = rescales[rescales.length - 1];
          if (prev && prev.dir !== dir && obsTime - prev.t < 600_000) reversals++;
          rescales.push({ t: obsTime, dir });
          plant.rescale(merged, obsTime);
        }
      }
    }
  }
  const sorted = Array.from(lags).sort((a, b) => a - b);
  return {
    name: o.autoscaler.name,
    hours,
    slotHours: slotSeconds / 3600,
    sloViolationMin: violations / 60,
    p99LagSec: sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? 0,
    maxLagSec: sorted[sorted.length - 1] ?? 0,
    rescales: rescales.length,
    rescalesPerHour: rescales.length / hours,
    reversals,
  };
}
