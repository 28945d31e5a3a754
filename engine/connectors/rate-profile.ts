/**
 * Rate profiles for the generator source: how many records per second are due at each moment
 * since the generator's start. Forms: `constant:R`, `steps:R1@0s,R2@60s,...` (a rate holds from
 * its offset to the next; an offset is a number of seconds or a Prometheus duration such as
 * `90s`, `1m30s`, `500ms`, read by common/duration.ts), or a CSV file of `second,rate` rows (same step semantics; a header
 * row is allowed). `cumulative(t)` is the exact integral, `timeOf(n)` its inverse.
 */
import { readFileSync } from 'node:fs';
import { parsePromDuration } from '../../common/duration.ts';
import { FlowpilotError, errorMessage } from '../../common/errors.ts';

export interface RateStep {
  /** Seconds since start. */
  at: number;
  /** Records per second from `at` on. */
  rate: number;
}

/** A step's offset: plain seconds (`60`, `1.5`) or a Prometheus duration (`60s`, `1m30s`). */
function offsetSeconds(text: string, part: string, spec: string): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  try {
    return parsePromDuration(text) / 1000;
  } catch (err) {
    throw new FlowpilotError('FP_RATE_PROFILE', `bad offset in step "${part}" of rate profile "${spec}": ${errorMessage(err)}`);
  }
}

export class RateProfile {
  readonly steps: RateStep[];
  /** Records due by each step's start. */
  private readonly before: number[];

  constructor(steps: RateStep[]) {
    if (steps.length === 0) throw new FlowpilotError('FP_RATE_PROFILE', 'a rate profile needs at least one step');
    const sorted = [...steps].sort((a, b) => a.at - b.at);
    if (sorted[0]!.at !== 0) sorted.unshift({ at: 0, rate: 0 });
    for (const s of sorted) {
      if (!(s.rate >= 0) || !Number.isFinite(s.rate) || !(s.at >= 0)) {
        throw new FlowpilotError('FP_RATE_PROFILE', `invalid rate step ${s.rate}@${s.at}s: rates and offsets must be finite and >= 0`);
      }
    }
    this.steps = sorted;
    this.before = [0];
    for (let i = 1; i < sorted.length; i++) {
      this.before.push(this.before[i - 1]! + sorted[i - 1]!.rate * (sorted[i]!.at - sorted[i - 1]!.at));
    }
  }

  static parse(spec: string): RateProfile {
    const s = spec.trim();
    if (s.startsWith('constant:')) return new RateProfile([{ at: 0, rate: num(s.slice(9), spec) }]);
    if (s.startsWith('steps:')) {
      return new RateProfile(
        s.slice(6).split(',').map((part) => {
          const m = /^\s*([\d.]+)\s*@\s*(\S+)\s*$/.exec(part);
          if (m === null) throw new FlowpilotError('FP_RATE_PROFILE', `bad step "${part}" in rate profile "${spec}"; expected RATE@OFFSET like 1000@60s`);
          return { rate: num(m[1]!, spec), at: offsetSeconds(m[2]!, part, spec) };
        }),
      );
    }
    const path = s.startsWith('csv:') ? s.slice(4) : s;
    if (path.endsWith('.csv')) {
      const rows = readFileSync(path, 'utf8').split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
      const steps: RateStep[] = [];
      rows.forEach((line, i) => {
        const [a, b] = line.split(',');
        if (i === 0 && Number.isNaN(Number(a))) return; // header
        steps.push({ at: num(a ?? '', `${path}:${i + 1}`), rate: num(b ?? '', `${path}:${i + 1}`) });
      });
      return new RateProfile(steps);
    }
    throw new FlowpilotError('FP_RATE_PROFILE', `unknown rate profile "${spec}"; use constant:R, steps:R1@0s,R2@60s or a .csv file of second,rate`);
  }

  rateAt(seconds: number): number {
    return this.steps[this.segment(seconds)]!.rate;
  }

  /** Records due in [0, seconds]. */
  cumulative(seconds: number): number {
    if (seconds <= 0) return 0;
    const i = this.segment(seconds);
    return this.before[i]! + this.steps[i]!.rate * (seconds - this.steps[i]!.at);
  }

  /** The earliest time (seconds) at which `n` records are due; Infinity if never. */
  timeOf(n: number): number {
    if (n <= 0) return 0;
    if (this.steps.length === 1) {
      // constant:R (the generator asks for every record): at 0, nothing before, so exactly the general formula's n / R.
      const r = this.steps[0]!.rate;
      return r === 0 ? Number.POSITIVE_INFINITY : n / r;
    }
    let i = this.steps.length - 1;
    while (i > 0 && this.before[i]! >= n) i--;
    const r = this.steps[i]!.rate;
    if (r === 0) return Number.POSITIVE_INFINITY;
    return this.steps[i]!.at + (n - this.before[i]!) / r;
  }

  private segment(seconds: number): number {
    const st = this.steps;
    let lo = 0;
    let hi = st.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (st[mid]!.at <= seconds) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}

function num(text: string, where: string): number {
  const v = Number(text.trim());
  if (text.trim() === '' || !Number.isFinite(v)) throw new FlowpilotError('FP_RATE_PROFILE', `"${text}" is not a number (in ${where})`);
  return v;
}
