/**
 * The fleet bench's figures, computed from what it recorded: each job's decisions (time and the
 * replica that made it), when each resource appeared, when a replica was killed, and samples of
 * each replica's process metrics. Pure functions, so the analysis is tested apart from the run.
 */

export interface DecisionSeen {
  /** namespace/name */
  job: string;
  replica: string;
  time: number;
}

export interface Percentiles {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

export function percentiles(xs: number[]): Percentiles {
  if (xs.length === 0) return { n: 0, p50: NaN, p99: NaN, max: NaN };
  const s = [...xs].sort((a, b) => a - b);
  // nearest rank, as Prometheus' and most benches' "p99" reads
  const at = (q: number): number => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
  return { n: s.length, p50: at(0.5), p99: at(0.99), max: s[s.length - 1]! };
}

/** Decisions grouped by job, each list sorted by time, duplicates (same replica and time) dropped. */
export function byJob(ds: DecisionSeen[]): Map<string, DecisionSeen[]> {
  const out = new Map<string, DecisionSeen[]>();
  const seen = new Set<string>();
  for (const d of ds) {
    const k = `${d.job}\0${d.replica}\0${d.time}`;
    if (seen.has(k)) continue;
    seen.add(k);
    let l = out.get(d.job);
    if (!l) out.set(d.job, (l = []));
    l.push(d);
  }
  for (const l of out.values()) l.sort((a, b) => a.time - b.time);
  return out;
}

/** Per job: its first decision (any replica) minus when its resource appeared; jobs never decided on are listed apart. */
export function firstDecisionDelays(appeared: Map<string, number>, ds: Map<string, DecisionSeen[]>): { delays: number[]; never: string[] } {
  const delays: number[] = [];
  const never: string[] = [];
  for (const [job, t0] of appeared) {
    const first = ds.get(job)?.find((d) => d.time >= t0);
    if (first) delays.push(first.time - t0);
    else never.push(job);
  }
  return { delays, never };
}

/** Gaps between consecutive decisions of a job on the same replica (a handover's gap is the takeover's figure, not this one). */
export function decisionGaps(ds: Map<string, DecisionSeen[]>, from = -Infinity): number[] {
  const gaps: number[] = [];
  for (const l of ds.values()) {
    for (let i = 1; i < l.length; i++) {
      if (l[i]!.replica === l[i - 1]!.replica && l[i - 1]!.time >= from) gaps.push(l[i]!.time - l[i - 1]!.time);
    }
  }
  return gaps;
}

/**
 * Per job the killed replica was deciding on: the first decision by another replica after the
 * kill, minus the kill time. Jobs without one are listed apart.
 */
export function takeoverDelays(killed: string, killedAt: number, jobsOfKilled: string[], ds: Map<string, DecisionSeen[]>): { delays: number[]; never: string[] } {
  const delays: number[] = [];
  const never: string[] = [];
  for (const job of jobsOfKilled) {
    const next = ds.get(job)?.find((d) => d.time > killedAt && d.replica !== killed);
    if (next) delays.push(next.time - killedAt);
    else never.push(job);
  }
  return { delays, never };
}

/**
 * Jobs acted on by two replicas. Rendezvous hashing moves a job only to a member that joins or
 * away from one that leaves, so a job's deciding replica never returns to an earlier one unless
 * two replicas were both deciding (or the membership flapped, which the guard must also absorb):
 * a decision sequence A..B..A counts, as does any sampled instant at which two replicas reported
 * `acting` for the same job (`overlaps`).
 */
export function actedTwice(ds: Map<string, DecisionSeen[]>, overlaps: Iterable<string> = []): string[] {
  const out = new Set<string>(overlaps);
  for (const [job, l] of ds) {
    const left = new Set<string>();
    let cur: string | null = null;
    for (const d of l) {
      if (d.replica === cur) continue;
      if (left.has(d.replica)) {
        out.add(job);
        break;
      }
      if (cur !== null) left.add(cur);
      cur = d.replica;
    }
  }
  return [...out].sort();
}

export interface ProcessSample {
  replica: string;
  time: number;
  cpuSeconds: number;
  rssBytes: number;
}

/** Reads the agent's prom-client process series (prefix flowpilot_agent_) from a /metrics text. */
export function processSample(replica: string, time: number, metricsText: string): ProcessSample {
  const value = (name: string): number => {
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)`, 'm').exec(metricsText);
    if (!m) throw new Error(`${replica}: no ${name} in /metrics`);
    return Number(m[1]);
  };
  return { replica, time, cpuSeconds: value('flowpilot_agent_process_cpu_seconds_total'), rssBytes: value('flowpilot_agent_process_resident_memory_bytes') };
}

export interface CostPerJob {
  jobs: number;
  intervals: number;
  cpuMsPerJobPerInterval: number;
  rssMbPerJob: number;
  /** RSS above the replicas' RSS before any job existed, per job */
  rssMbPerJobAboveIdle: number;
  totalRssMb: number;
  cpuCoresUsed: number;
}

/** CPU and RSS per managed job between two sample sets (same replicas), over `intervalMs` collection intervals. */
export function costPerJob(start: ProcessSample[], end: ProcessSample[], idle: ProcessSample[], jobs: number, intervalMs: number): CostPerJob {
  let cpu = 0;
  let wall = 0;
  for (const e of end) {
    const s = start.find((x) => x.replica === e.replica);
    if (!s) throw new Error(`no start sample for ${e.replica}`);
    cpu += e.cpuSeconds - s.cpuSeconds;
    wall = Math.max(wall, e.time - s.time);
  }
  const rss = end.reduce((a, e) => a + e.rssBytes, 0);
  const idleRss = end.reduce((a, e) => a + (idle.find((x) => x.replica === e.replica)?.rssBytes ?? e.rssBytes), 0);
  const intervals = wall / intervalMs;
  return {
    jobs, intervals,
    cpuMsPerJobPerInterval: (cpu * 1000) / jobs / intervals,
    rssMbPerJob: rss / 2 ** 20 / jobs,
    rssMbPerJobAboveIdle: (rss - idleRss) / 2 ** 20 / jobs,
    totalRssMb: rss / 2 ** 20,
    cpuCoresUsed: cpu / (wall / 1000),
  };
}

export interface HistogramSummary {
  count: number;
  meanMs: number;
  /** upper bound (ms) of the bucket holding the 50th / 99th percentile; Infinity past the last bucket */
  p50Ms: number;
  p99Ms: number;
}

/**
 * Sums one prom-client histogram (every series of `name` whose labels contain `match`) over the
 * given /metrics texts, minus the same at `before` (the steady window's start), and reads its
 * percentiles as bucket bounds.
 */
export function histogramSummary(name: string, after: string[], before: string[] = [], match = ''): HistogramSummary {
  const read = (texts: string[]): { buckets: Map<number, number>; sum: number; count: number } => {
    const buckets = new Map<number, number>();
    let sum = 0;
    let count = 0;
    for (const t of texts) {
      for (const line of t.split('\n')) {
        if (!line.startsWith(name) || !line.includes(match)) continue;
        const v = Number(line.slice(line.lastIndexOf(' ') + 1));
        if (line.startsWith(`${name}_bucket{`)) {
          const le = /le="([^"]+)"/.exec(line)?.[1];
          if (le !== undefined) {
            const b = le === '+Inf' ? Infinity : Number(le);
            buckets.set(b, (buckets.get(b) ?? 0) + v);
          }
        } else if (line.startsWith(`${name}_sum`)) sum += v;
        else if (line.startsWith(`${name}_count`)) count += v;
      }
    }
    return { buckets, sum, count };
  };
  const a = read(after);
  const b = read(before);
  const count = a.count - b.count;
  const les = [...a.buckets.keys()].sort((x, y) => x - y);
  const q = (p: number): number => {
    for (const le of les) if (a.buckets.get(le)! - (b.buckets.get(le) ?? 0) >= p * count) return le * 1000;
    return NaN;
  };
  return { count, meanMs: count > 0 ? ((a.sum - b.sum) * 1000) / count : NaN, p50Ms: count > 0 ? q(0.5) : NaN, p99Ms: count > 0 ? q(0.99) : NaN };
}
