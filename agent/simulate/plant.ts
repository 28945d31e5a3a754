/**
 * The plant: a fluid model of a Flink job that the simulator drives in closed loop. Per
 * vertex it has a per-subtask capacity, a scaling exponent (rate(p) ~ p^b), a selectivity,
 * and key groups or partitions whose uneven split caps the hottest subtask. Each tick the
 * source consumes min(arrivals + backlog, pipeline capacity); the busiest vertex sets the
 * pace and the vertices above it show backpressure. Sources report a busy time that lies
 * (a fraction of the truth), as real connectors do. A rescale stops processing for a restart
 * downtime (base + state size / restore speed), then resets counters, as Flink does.
 * Metrics carry seeded noise, so a run is deterministic for a seed.
 */
import type { JobObservationInput } from '../scaling/observation.ts';

export interface PlantVertex {
  id: string;
  inputs: { id: string; shipStrategy: string }[];
  /** records/s one subtask processes at parallelism 1 */
  perSubtaskRate: number;
  /** rate(p) = perSubtaskRate * p^exponent (before key-group balance) */
  exponent: number;
  /** records out per record in */
  selectivity: number;
  maxParallelism: number;
  partitions?: number;
  /** sources: reported busy time = true busy time * this */
  busyReportFactor?: number;
}

export interface PlantConfig {
  jobId: string;
  vertices: PlantVertex[];
  initialParallelism: Record<string, number>;
  restartBaseSec: number;
  stateBytes: number;
  restoreBytesPerSec: number;
  /** relative standard deviation of metric noise */
  noise: number;
  slotSharing: boolean;
}

export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function gaussian(rand: () => number): () => number {
  return () => {
    const u = Math.max(1e-12, rand());
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  };
}

/** Capacity of a vertex at parallelism p, limited by its hottest subtask. */
export function plantCapacity(v: PlantVertex, p: number): number {
  const units = v.inputs.length === 0 ? v.partitions : v.inputs.some((i) => i.shipStrategy === 'HASH') ? v.maxParallelism : undefined;
  const perSubtask = v.perSubtaskRate * Math.pow(p, v.exponent - 1);
  if (!units) return perSubtask * p;
  return (perSubtask * units) / Math.ceil(units / p);
}

interface VertexState {
  recordsIn: number;
  recordsOut: number;
}

export class Plant {
  readonly cfg: PlantConfig;
  parallelism: Record<string, number>;
  backlog = 0;
  restarts = 0;
  runningSince = 0;
  downUntil = Number.NEGATIVE_INFINITY;
  private pendingParallelism: Record<string, number> | undefined;
  private counters = new Map<string, VertexState>();
  private last = new Map<string, { busyAvg: number; busyMax: number; bp: number; inRate: number }>();
  private readonly order: PlantVertex[];
  /** source records entering each vertex per source record read */
  private readonly gain = new Map<string, number>();
  private readonly noise: () => number;
  private readonly rand: () => number;
  private lastRestoreMs = 0;
  private lastRestoreTime: number | undefined;

  constructor(cfg: PlantConfig, seed: number, startMs: number) {
    this.cfg = cfg;
    this.parallelism = { ...cfg.initialParallelism };
    this.rand = rng(seed);
    this.noise = gaussian(this.rand);
    this.runningSince = startMs;
    const done = new Set<string>();
    this.order = [];
    while (this.order.length < cfg.vertices.length) {
      for (const v of cfg.vertices) if (!done.has(v.id) && v.inputs.every((i) => done.has(i.id))) { done.add(v.id); this.order.push(v); }
    }
    for (const v of this.order) {
      const g = v.inputs.length === 0 ? 1 : v.inputs.reduce((s, i) => s + this.gain.get(i.id)! * cfg.vertices.find((x) => x.id === i.id)!.selectivity, 0);
      this.gain.set(v.id, g);
    }
    this.resetCounters();
  }

  private resetCounters(): void {
    for (const v of this.cfg.vertices) this.counters.set(v.id, { recordsIn: 0, recordsOut: 0 });
  }

  running(nowMs: number): boolean {
    return nowMs >= this.downUntil;
  }

  /** Starts a rescale: the job stops for the restart downtime, then runs at `to`. */
  rescale(to: Record<string, number>, nowMs: number): void {
    const restoreSec = this.cfg.stateBytes / this.cfg.restoreBytesPerSec;
    const downSec = (this.cfg.restartBaseSec + restoreSec) * (0.9 + 0.2 * this.rand());
    this.downUntil = nowMs + downSec * 1000;
    this.pendingParallelism = { ...this.parallelism, ...to };
    this.lastRestoreMs = restoreSec * 1000;
  }

  /** Pipeline capacity in source records/s and the vertex that sets it. */
  capacity(): { rate: number; bottleneck: string } {
    let rate = Number.POSITIVE_INFINITY;
    let bottleneck = this.order[0]!.id;
    for (const v of this.order) {
      const g = this.gain.get(v.id)!;
      if (g <= 0) continue;
      const c = plantCapacity(v, this.parallelism[v.id]!) / g;
      if (c < rate) { rate = c; bottleneck = v.id; }
    }
    return { rate, bottleneck };
  }

  /** Advances dt seconds with `arrival` records/s; returns records consumed from the source. */
  tick(nowMs: number, dtSec: number, arrival: number): number {
    if (!this.running(nowMs)) {
      this.backlog += arrival * dtSec;
      return 0;
    }
    if (this.pendingParallelism) {
      this.parallelism = this.pendingParallelism;
      this.pendingParallelism = undefined;
      this.restarts += 1;
      // As in Flink, the job turns RUNNING when its tasks are deployed; restoring state follows.
      this.runningSince = this.downUntil - this.lastRestoreMs;
      this.lastRestoreTime = this.runningSince;
      this.resetCounters();
    }
    const { rate: cap, bottleneck } = this.capacity();
    const offered = arrival + this.backlog / dtSec;
    const consumed = Math.min(cap, offered);
    this.backlog = Math.max(0, this.backlog + (arrival - consumed) * dtSec);
    const saturated = consumed >= cap * 0.999;
    let upstreamOfBottleneck = true;
    for (const v of this.order) {
      const p = this.parallelism[v.id]!;
      const inRate = consumed * this.gain.get(v.id)!;
      const c = this.counters.get(v.id)!;
      c.recordsIn += inRate * dtSec;
      c.recordsOut += inRate * v.selectivity * dtSec;
      const perSubtask = v.perSubtaskRate * Math.pow(p, v.exponent - 1);
      const busyAvg = Math.min(1, inRate / p / perSubtask);
      const busyMax = Math.min(1, inRate / plantCapacity(v, p));
      if (v.id === bottleneck) upstreamOfBottleneck = false;
      const bp = saturated && upstreamOfBottleneck ? Math.max(0, 1 - busyAvg) : 0;
      this.last.set(v.id, { busyAvg, busyMax, bp, inRate });
    }
    return consumed * dtSec;
  }

  private jitter(x: number): number {
    return Math.max(0, x * (1 + this.cfg.noise * this.noise()));
  }

  observe(nowMs: number): JobObservationInput {
    const running = this.running(nowMs) && !this.pendingParallelism;
    let busySum = 0;
    let busyMaxAll = 0;
    let slots = 0;
    const vertices = this.cfg.vertices.map((v) => {
      const l = this.last.get(v.id) ?? { busyAvg: 0, busyMax: 0, bp: 0, inRate: 0 };
      const c = this.counters.get(v.id)!;
      const f = v.inputs.length === 0 ? (v.busyReportFactor ?? 1) : 1;
      const p = this.parallelism[v.id]!;
      busySum += l.busyAvg * p;
      busyMaxAll = Math.max(busyMaxAll, l.busyMax);
      slots += p;
      const busyAvg = Math.min(1000, this.jitter(l.busyAvg * 1000 * f));
      const busyMax = Math.min(1000, Math.max(busyAvg, this.jitter(l.busyMax * 1000 * f)));
      const bpAvg = Math.min(1000 - busyAvg, this.jitter(l.bp * 1000));
      return {
        id: v.id,
        name: v.id,
        parallelism: p,
        maxParallelism: v.maxParallelism,
        inputs: v.inputs,
        recordsIn: Math.round(c.recordsIn),
        recordsOut: Math.round(c.recordsOut),
        busyMsPerSecond: { avg: busyAvg, max: busyMax },
        backPressuredMsPerSecond: { avg: bpAvg, max: bpAvg },
        ...(v.inputs.length === 0 ? { pendingRecords: Math.round(this.backlog), ...(v.partitions ? { partitions: v.partitions } : {}) } : {}),
      };
    });
    if (this.cfg.slotSharing) slots = Math.max(...Object.values(this.parallelism));
    return {
      time: nowMs,
      jobId: this.cfg.jobId,
      state: running ? 'RUNNING' : 'RESTARTING',
      runningSince: this.runningSince,
      restarts: this.restarts,
      vertices,
      checkpoints: {
        lastDurationMs: 2000 + this.cfg.stateBytes / 200e6 * 1000,
        lastSizeBytes: this.cfg.stateBytes,
        failed: 0,
        completed: Math.floor(nowMs / 60000),
        lastRestoreMs: this.lastRestoreMs,
        ...(this.lastRestoreTime !== undefined ? { lastRestoreTime: this.lastRestoreTime } : {}),
      },
      taskManagers: {
        count: slots,
        slotsPerTaskManager: 1,
        heapUsedBytes: 1e9 * (0.4 + 0.05 * this.rand()),
        heapMaxBytes: 2e9,
        gcTimeMsPerSecond: 10,
        cpuLoad: { avg: Math.min(1, this.jitter(busySum / Math.max(1, slots))), max: Math.min(1, this.jitter(busyMaxAll)) },
      },
    };
  }
}
