/**
 * Baseline: the Flink Kubernetes Operator autoscaler (release 1.15.0), re-implemented from
 * its published algorithm with its defaults (see /work/shared/research/autoscaler.md §1):
 * 60 s reconcile; samples ignored for 5 min after RUNNING and history dropped on restart;
 * a 15 min window that must be full before scaling; endpoint rates of cumulative counters;
 * busy-time TPR with the MAX aggregator; observed TPR at sources while lag >= 30 s of input
 * (switch at +15 %, >= 2 observations); target = read rate + lag growth propagated through
 * edge ratios; catch-up = lag / 30 min; restart time 5 min (tracking off); utilization
 * target 0.7, band 0.4..1.0 (backlog mode, lag > 5 min: 0..1.0); factor clamp [0.4, 100001];
 * vertex limits 1..200 and key groups; EVENLY_SPREAD alignment for sources with partitions
 * and keyed vertices; scale-down delayed 1 h with a sliding max; effectiveness detection
 * and memory gating off (their defaults). No change is made to favour flowpilot.
 */
import type { JobObservation, VertexObservation } from '../../scaling/observation.ts';
import { isSource, topologicalOrder } from '../../scaling/observation.ts';
import type { Autoscaler } from '../runner.ts';

interface Sample {
  t: number;
  v: Map<string, { load: number; in: number; out: number; lag: number; observedTpr: number }>;
}

const D = {
  stabilizationMs: 5 * 60_000,
  windowMs: 15 * 60_000,
  utilTarget: 0.7,
  utilMax: 1.0,
  utilMin: 0.4,
  catchUpSec: 1800,
  restartSec: 300,
  backlogLagSec: 300,
  observedLagSec: 30,
  observedSwitch: 0.15,
  observedMinObs: 2,
  scaleDownMaxFactor: 0.6,
  scaleUpMaxFactor: 100000,
  vertexMin: 1,
  vertexMax: 200,
  scaleDownIntervalMs: 3600_000,
};

export class FlinkAutoscalerBaseline implements Autoscaler {
  name = 'flink-autoscaler';
  intervalSec = 60;
  private samples: Sample[] = [];
  private observedHistory = new Map<string, number[]>();
  private delayed = new Map<string, { first: number; recs: Array<[number, number]> }>();

  private record(obs: JobObservation): void {
    const prev = this.samples[this.samples.length - 1];
    const v = new Map<string, Sample['v'] extends Map<string, infer X> ? X : never>();
    for (const x of obs.vertices) {
      let observedTpr = Number.NaN;
      if (isSource(x)) {
        const p = prev?.v.get(x.id);
        const inPerSec = p ? (x.recordsIn - p.in) / ((obs.time - prev!.t) / 1000) : Number.NaN;
        const lag = x.pendingRecords ?? 0;
        const hist = this.observedHistory.get(x.id) ?? [];
        if (Number.isFinite(inPerSec) && lag >= D.observedLagSec * inPerSec) {
          const bp = x.backPressuredMsPerSecond.avg;
          observedTpr = inPerSec === 0 ? Number.POSITIVE_INFINITY : bp >= 1000 ? Number.NaN : inPerSec / (1 - bp / 1000);
          if (Number.isFinite(observedTpr)) hist.push(observedTpr);
          this.observedHistory.set(x.id, hist);
        } else if (hist.length > 0) observedTpr = hist.reduce((a, b) => a + b, 0) / hist.length;
      }
      v.set(x.id, { load: x.busyMsPerSecond.max / 1000, in: x.recordsIn, out: x.recordsOut, lag: x.pendingRecords ?? 0, observedTpr });
    }
    this.samples.push({ t: obs.time, v });
  }

  step(obs: JobObservation): Record<string, number> | undefined {
    if (obs.state !== 'RUNNING') return undefined;
    const runningTs = obs.runningSince ?? 0;
    if (this.samples.length > 0 && runningTs > this.samples[0]!.t) {
      this.samples = []; // "Job updated ... Clearing metrics"
      this.observedHistory.clear();
    }
    if (obs.time < runningTs + D.stabilizationMs) return undefined;
    this.record(obs);
    const first = this.samples[0]!;
    if (obs.time < first.t + D.windowMs) return undefined; // window not full: metrics only
    this.samples = this.samples.filter((s) => s.t >= obs.time - D.windowMs);
    if (this.samples.length < 2) return undefined;
    return this.evaluate(obs);
  }

  private rate(id: string, f: (x: { in: number; out: number; lag: number }) => number): number {
    const a = this.samples[0]!;
    const b = this.samples[this.samples.length - 1]!;
    return (1000 * (f(b.v.get(id)!) - f(a.v.get(id)!))) / Math.max(1, b.t - a.t);
  }

  private evaluate(obs: JobObservation): Record<string, number> | undefined {
    const order = topologicalOrder(obs.vertices);
    const byId = new Map(obs.vertices.map((v) => [v.id, v]));
    const outputsOf = (id: string): VertexObservation[] => obs.vertices.filter((v) => v.inputs.some((i) => i.id === id));
    const last = this.samples[this.samples.length - 1]!;
    const target = new Map<string, number>();
    const catchUp = new Map<string, number>();
    let backlog = false;
    for (const v of order) {
      const inRate = this.rate(v.id, (x) => x.in);
      if (isSource(v)) {
        const lag = last.v.get(v.id)!.lag;
        target.set(v.id, Math.max(0, inRate + this.rate(v.id, (x) => x.lag)));
        catchUp.set(v.id, lag / D.catchUpSec);
        if (inRate > 0 && lag / inRate > D.backlogLagSec) backlog = true;
        continue;
      }
      let t = 0;
      let c = 0;
      for (const inp of v.inputs) {
        const u = byId.get(inp.id)!;
        const uIn = this.rate(u.id, (x) => x.in);
        let edge: number;
        if (v.inputs.length === 1) edge = inRate;
        else if (v.inputs.every((o) => o.id === u.id || outputsOf(o.id).length === 1)) {
          edge = inRate - v.inputs.filter((o) => o.id !== u.id).reduce((s, o) => s + this.rate(o.id, (x) => x.out), 0);
        } else edge = this.rate(u.id, (x) => x.out);
        const ratio = uIn > 0 ? edge / uIn : 0;
        t += target.get(u.id)! * ratio;
        c += catchUp.get(u.id)! * ratio;
      }
      target.set(v.id, t);
      catchUp.set(v.id, c);
    }
    const capacity = (id: string, util: number, withRestart: boolean): number => {
      if (util === 0) return Number.POSITIVE_INFINITY;
      const tgt = target.get(id)!;
      return Math.round(catchUp.get(id)! + (withRestart ? (tgt * D.restartSec) / D.catchUpSec : 0) + tgt / Math.min(1, Math.max(0, util)));
    };
    const out: Record<string, number> = {};
    let anyOutside = false;
    let changed = false;
    for (const v of order) {
      const tpr = this.tpr(v);
      const up = capacity(v.id, D.utilMax, false);
      const down = backlog ? Number.POSITIVE_INFINITY : capacity(v.id, D.utilMin, true);
      const outside = tpr < up || tpr > down;
      const p = v.parallelism;
      let newP = p;
      if (Number.isFinite(tpr) || tpr === Number.POSITIVE_INFINITY) {
        let factor = capacity(v.id, D.utilTarget, true) / tpr;
        if (Number.isNaN(factor)) factor = 1;
        factor = Math.min(1 + D.scaleUpMaxFactor, Math.max(1 - D.scaleDownMaxFactor, factor));
        const upper = Math.min(v.maxParallelism, Math.max(p, D.vertexMax));
        const lower = Math.min(p, D.vertexMin);
        newP = Math.min(upper, Math.max(lower, Math.ceil(factor * p)));
        newP = this.align(v, p, newP, lower, upper);
      }
      newP = this.delayScaleDown(v.id, p, newP, obs.time);
      if (newP !== p) {
        changed = true;
        if (outside) anyOutside = true;
      }
      out[v.id] = newP;
    }
    if (!changed || !anyOutside) return undefined; // "All vertex processing rates are within target"
    this.delayed.clear();
    return out;
  }

  private tpr(v: VertexObservation): number {
    const inRate = this.rate(v.id, (x) => x.in);
    const loads = this.samples.map((s) => s.v.get(v.id)!.load);
    const busy = loads.reduce((a, b) => a + b, 0) / loads.length;
    const busyTpr = inRate === 0 ? Number.POSITIVE_INFINITY : busy > 0 ? inRate / busy : Number.NaN;
    if (!isSource(v)) return busyTpr;
    const obsVals = this.samples.map((s) => s.v.get(v.id)!.observedTpr).filter((x) => Number.isFinite(x));
    if (obsVals.length < D.observedMinObs) return busyTpr;
    const observed = obsVals.reduce((a, b) => a + b, 0) / obsVals.length;
    if (!Number.isFinite(busyTpr) || busyTpr > observed * (1 + D.observedSwitch)) return observed;
    return busyTpr;
  }

  /** EVENLY_SPREAD key-group / partition alignment (1.15.0). */
  private align(v: VertexObservation, p: number, newP: number, lower: number, upper: number): number {
    const keyed = v.inputs.some((i) => i.shipStrategy === 'HASH');
    const partitions = isSource(v) ? (v.partitions ?? 0) : 0;
    if (!keyed && partitions <= 0) return newP;
    const n = partitions > 0 ? partitions : v.maxParallelism;
    const upperBound = Math.min(n, newP < p ? p : upper);
    for (let q = newP; q <= upperBound; q++) if (n % q === 0) return q;
    let q = newP;
    for (; q > 0; q--) {
      if (Math.floor(n / q) > Math.floor(n / newP)) {
        if (n % q !== 0) q++;
        break;
      }
    }
    q = Math.max(q, lower);
    // A result that inverts the scaling direction is blocked (ScalingLimited).
    if ((newP > p && q < p) || (newP < p && q > p)) return p;
    return q;
  }

  private delayScaleDown(id: string, p: number, newP: number, now: number): number {
    if (newP >= p) {
      this.delayed.delete(id);
      return newP;
    }
    const d = this.delayed.get(id) ?? { first: now, recs: [] };
    d.recs.push([now, newP]);
    d.recs = d.recs.filter(([t]) => t > now - D.scaleDownIntervalMs);
    this.delayed.set(id, d);
    if (now - d.first < D.scaleDownIntervalMs) return p;
    return Math.max(...d.recs.map(([, x]) => x));
  }
}
