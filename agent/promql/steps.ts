/**
 * Moving between the two shapes of an instant-vector value: per series (EvalSeries, used
 * to store results) and per step (StepSample[], what binary operators, aggregations and
 * most functions work on). `StepAccumulator` gathers per-step output back into series
 * and refuses two samples with the same labels at one step.
 */
import { labelsKey } from '../tsdb/labels.ts';
import { type EvalSeries, type StepContext, type StepSample, execError } from './eval-types.ts';

/** Walks series step by step; call `at(k)` with increasing k. */
export class StepCursor {
  private readonly series: EvalSeries[];
  private readonly pos: Int32Array;
  constructor(series: EvalSeries[]) {
    this.series = series;
    this.pos = new Int32Array(series.length);
  }

  at(t: number): StepSample[] {
    const out: StepSample[] = [];
    const s = this.series;
    for (let i = 0; i < s.length; i++) {
      const ser = s[i]!;
      let p = this.pos[i]!;
      while (p < ser.ts.length && ser.ts[p]! < t) p++;
      this.pos[i] = p;
      if (p < ser.ts.length && ser.ts[p] === t) out.push({ metric: ser.metric, dropName: ser.dropName, v: ser.vs[p]! });
    }
    return out;
  }
}

export class StepAccumulator {
  private readonly byKey = new Map<string, EvalSeries>();
  private readonly order: EvalSeries[] = [];
  private readonly checkDuplicates: boolean;
  private seenAtStep = new Set<string>();

  constructor(checkDuplicates = true) {
    this.checkDuplicates = checkDuplicates;
  }

  add(t: number, samples: StepSample[]): void {
    if (this.checkDuplicates) this.seenAtStep = new Set();
    for (const s of samples) {
      const key = s.dropName ? labelsKey(s.metric) + '\u0001' : labelsKey(s.metric);
      if (this.checkDuplicates) {
        if (this.seenAtStep.has(key)) throw execError('vector cannot contain metrics with the same labelset');
        this.seenAtStep.add(key);
      }
      let ser = this.byKey.get(key);
      if (ser === undefined) {
        ser = { metric: s.metric, dropName: s.dropName, ts: [], vs: [] };
        this.byKey.set(key, ser);
        this.order.push(ser);
      }
      ser.ts.push(t);
      ser.vs.push(s.v);
    }
  }

  result(): EvalSeries[] {
    return this.order;
  }
}

export function stepTime(ctx: StepContext, k: number): number {
  return ctx.start + k * ctx.interval;
}
