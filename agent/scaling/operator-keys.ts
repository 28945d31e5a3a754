/**
 * Drop-in migration from the Flink Kubernetes Operator's autoscaler: the `job.autoscaler.*`
 * keys of a FlinkDeployment's `spec.flinkConfiguration`, as the operator's AutoScalerOptions
 * defines them (including its deprecated names and the old `kubernetes.operator.` prefix),
 * mapped onto our policy. `operatorPolicyFragment` turns the configuration map into a partial
 * raw policy; `underPolicyFile` puts the policy file on top of it, so every key the file sets
 * wins. Each key is reported as applied (with what it became), ignored (with why), or invalid.
 * The table with the differences is docs/guide/migrating-from-the-operator-autoscaler.md.
 */
import { parseFlinkDuration } from '../../common/duration.ts';
import { errorMessage } from '../../common/errors.ts';

export const AUTOSCALER_PREFIX = 'job.autoscaler.';
const OLD_PREFIX = 'kubernetes.operator.job.autoscaler.';

export interface KeyReport {
  key: string;
  value: string;
  /** the policy key(s) it became, or why it was not used */
  note: string;
}

export interface OperatorMapping {
  /** a raw partial policy (durations in seconds) */
  policy: Record<string, unknown>;
  applied: KeyReport[];
  ignored: KeyReport[];
  invalid: KeyReport[];
}

/** The operator's default boundary around the target (AutoScalerOptions.TARGET_UTILIZATION_BOUNDARY). */
const DEFAULT_BOUNDARY = 0.3;

const IGNORED: Record<string, string> = {
  enabled: 'not a policy setting: flowpilot refuses to act on a resource where the operator\'s own autoscaler is enabled (two autoscalers must not fight)',
  'vertex.exclude.ids': 'not supported: pin such a vertex with limits.vertices.<id>.min/max at its parallelism',
  'restart.time-tracking.enabled': 'flowpilot always learns the restart cost from observed rescales (EWMA, restart.ewmaAlpha)',
  'restart.time-tracking.limit': 'flowpilot always learns the restart cost; it has no cap on it',
  'metrics.busy-time.aggregator': 'flowpilot uses the busiest subtask (MAX) and reports skew separately',
  'history.max.count': 'flowpilot keeps rescale records by age (history.maxAge), at most 50 per job',
  'scaling.event.interval': 'flowpilot records one Event per action, not repeated reports',
  'flink.rest-client.timeout': 'an agent setting: actuation.restTimeout / flink.timeout',
  'memory.tuning.enabled': 'memory tuning is not done by flowpilot (memory advice only)',
  'memory.tuning.overhead': 'memory tuning is not done by flowpilot',
  'memory.tuning.maximize-managed-memory': 'memory tuning is not done by flowpilot',
  'memory.tuning.scale-down-compensation.enabled': 'memory tuning is not done by flowpilot',
  'observed-true-processing-rate.lag-threshold': 'flowpilot switches to the observed rate at sources by its own rule (catching up unthrottled)',
  'observed-true-processing-rate.switch-threshold': 'see observed-true-processing-rate.lag-threshold',
  'observed-true-processing-rate.min-observations': 'see observed-true-processing-rate.lag-threshold',
};

/** A Flink MemorySize ("4g", "512 mb", "1073741824"): returns MiB, or null. */
export function flinkMemoryMiB(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  if (!m) return null;
  const unit = m[2]!.toLowerCase();
  const pow: Record<string, number> = { '': 0, b: 0, bytes: 0, k: 1, kb: 1, kibibytes: 1, m: 2, mb: 2, mebibytes: 2, g: 3, gb: 3, gibibytes: 3, t: 4, tb: 4, tebibytes: 4 };
  if (!(unit in pow)) return null;
  return (Number(m[1]) * 1024 ** pow[unit]!) / (1024 * 1024);
}

/** Quartz day-of-week numbers (1 = Sunday) to cron's (0 = Sunday); names pass through. */
function quartzDow(field: string): string {
  return field.replace(/\d+/g, (d) => String(Number(d) - 1));
}

interface Period {
  cron: string;
  durationSec: number;
}

function parseDaily(s: string): { start: number[]; span: number } | null {
  const m = /^(\d{1,2}):(\d{2})(?::(\d{2}))?-(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(s);
  if (!m) return null;
  const a = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
  const b = [Number(m[4]), Number(m[5]), Number(m[6] ?? 0)];
  if (a[0]! > 23 || b[0]! > 23 || a[1]! > 59 || b[1]! > 59 || a[2]! > 59 || b[2]! > 59) return null;
  const sa = a[0]! * 3600 + a[1]! * 60 + a[2]!;
  const sb = b[0]! * 3600 + b[1]! * 60 + b[2]!;
  return { start: a, span: sb > sa ? sb - sa : sb + 86400 - sa };
}

/** Quartz cron (6 or 7 fields) → a 6-field cron for our schedules; throws with the reason. */
function quartzFields(expr: string): string[] {
  const f = expr.trim().split(/\s+/);
  if (f.length === 7) {
    if (f[6] !== '*' && f[6] !== '?') throw new Error(`the year field "${f[6]}" is not supported`);
    f.pop();
  }
  if (f.length !== 6) throw new Error(`a Quartz cron expression has 6 or 7 fields, "${expr}" has ${f.length}`);
  if (f.some((x) => /[LW#]/.test(x))) throw new Error(`the Quartz special characters L, W and # are not supported ("${expr}")`);
  const [sec, min, hour, dom, mon, dow] = f.map((x) => (x === '?' ? '*' : x)) as [string, string, string, string, string, string];
  return [sec, min, hour, dom, mon, quartzDow(dow)];
}

/**
 * One excluded period of the operator ("cron", "H:M:S-H:M:S", or both joined by &&) as a
 * window of our schedules: a cron start and a duration. A cron alone excludes every second it
 * matches (windows of 1 s); a daily range starts at its start time and lasts its span; both
 * together put the daily range on the days the cron allows (its time fields must be "*").
 */
export function excludedPeriod(expr: string): Period {
  const parts = expr.split('&&').map((p) => p.trim()).filter(Boolean);
  const daily = parts.map(parseDaily);
  const dailyIdx = daily.findIndex((d) => d !== null);
  if (parts.length === 0 || parts.length > 2 || (parts.length === 2 && dailyIdx < 0)) throw new Error(`"${expr}" is neither a cron expression, a daily range, nor one of each joined by &&`);
  const d = dailyIdx >= 0 ? daily[dailyIdx]! : null;
  const cronPart = parts.find((_, i) => i !== dailyIdx);
  if (!d) return { cron: quartzFields(cronPart!).join(' '), durationSec: 1 };
  const [h, m, s] = d.start as [number, number, number];
  if (!cronPart) return { cron: `${s} ${m} ${h} * * *`, durationSec: d.span };
  const [sec, min, hour, dom, mon, dow] = quartzFields(cronPart);
  if (sec !== '*' || min !== '*' || hour !== '*') throw new Error(`with a daily range, the cron part may only restrict days ("${cronPart}" restricts the time of day)`);
  return { cron: `${s} ${m} ${h} ${dom} ${mon} ${dow}`, durationSec: d.span };
}

function setIn(o: Record<string, unknown>, path: string[], v: unknown): void {
  let cur = o;
  for (const k of path.slice(0, -1)) cur = (cur[k] ??= {}) as Record<string, unknown>;
  cur[path[path.length - 1]!] = v;
}

/** The job.autoscaler.* entries of a configuration, by short key (the current prefix wins over the old one). */
export function autoscalerKeys(conf: Readonly<Record<string, unknown>>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(conf)) if (k.startsWith(OLD_PREFIX)) out.set(k.slice(OLD_PREFIX.length), String(v));
  for (const [k, v] of Object.entries(conf)) if (k.startsWith(AUTOSCALER_PREFIX)) out.set(k.slice(AUTOSCALER_PREFIX.length), String(v));
  return out;
}

/** The operator's keys in a flinkConfiguration, as a partial raw policy with a report per key. */
export function operatorPolicyFragment(conf: Readonly<Record<string, unknown>>): OperatorMapping {
  const keys = autoscalerKeys(conf);
  const out: OperatorMapping = { policy: {}, applied: [], ignored: [], invalid: [] };
  const written = new Map<string, string>(); // a current key -> the deprecated name the configuration used
  const name = (key: string): string => AUTOSCALER_PREFIX + (written.get(key) ?? key);
  const applied = (key: string, note: string): void => void out.applied.push({ key: name(key), value: keys.get(key)!, note });
  const invalid = (key: string, why: string): void => void out.invalid.push({ key: name(key), value: keys.get(key)!, note: why });
  const used = new Set<string>();

  const dur = (key: string, path: string[]): void => {
    if (!keys.has(key)) return;
    used.add(key);
    let s: number;
    try {
      s = parseFlinkDuration(keys.get(key)!) / 1000;
    } catch (err) {
      return invalid(key, `not a Flink duration (e.g. "5 min", "30s", "1h"): ${errorMessage(err)}`);
    }
    setIn(out.policy, path, s);
    applied(key, `${path.join('.')} = ${s} s`);
  };
  const num = (key: string, path: string[], check: (n: number) => boolean, map: (n: number) => number = (n) => n, what = 'a number'): void => {
    if (!keys.has(key)) return;
    used.add(key);
    const n = Number(keys.get(key));
    if (keys.get(key)!.trim() === '' || !Number.isFinite(n) || !check(n)) return invalid(key, `must be ${what}`);
    setIn(out.policy, path, map(n));
    applied(key, `${path.join('.')} = ${map(n)}`);
  };
  const bool = (key: string, path: string[]): void => {
    if (!keys.has(key)) return;
    used.add(key);
    const v = keys.get(key)!.trim().toLowerCase();
    if (v !== 'true' && v !== 'false') return invalid(key, 'must be true or false');
    setIn(out.policy, path, v === 'true');
    applied(key, `${path.join('.')} = ${v}`);
  };
  const alias = (key: string, deprecated: string): void => {
    if (!keys.has(key) && keys.has(deprecated)) {
      keys.set(key, keys.get(deprecated)!);
      written.set(key, deprecated);
    }
    if (keys.has(deprecated)) used.add(deprecated);
  };
  const frac = (n: number): boolean => n >= 0 && n <= 1;

  bool('scaling.enabled', ['execute']);
  dur('metrics.window', ['metricsWindow']);
  dur('stabilization.interval', ['restart', 'stabilization']);

  // Utilization: the target, and the band from utilization.max/min or else target ± boundary.
  alias('utilization.target', 'target.utilization');
  num('utilization.target', ['utilization', 'target'], frac, undefined, 'a fraction between 0 and 1');
  const target = typeof (out.policy.utilization as Record<string, unknown> | undefined)?.target === 'number' ? (out.policy.utilization as Record<string, number>).target! : 0.7;
  const hasBand = keys.has('utilization.max') || keys.has('utilization.min') || keys.has('target.utilization.boundary') || keys.has('utilization.target');
  if (hasBand) {
    let boundary = DEFAULT_BOUNDARY;
    if (keys.has('target.utilization.boundary')) {
      used.add('target.utilization.boundary');
      const b = Number(keys.get('target.utilization.boundary'));
      if (!Number.isFinite(b) || b < 0) invalid('target.utilization.boundary', 'must be a non-negative number');
      else {
        boundary = b;
        applied('target.utilization.boundary', `utilization.max = ${Math.min(1, target + b)}, utilization.min = ${Math.max(0, target - b)} (unless utilization.max/min are set)`);
      }
    }
    setIn(out.policy, ['utilization', 'max'], Math.min(1, +(target + boundary).toFixed(6)));
    setIn(out.policy, ['utilization', 'min'], Math.max(0, +(target - boundary).toFixed(6)));
    num('utilization.max', ['utilization', 'max'], frac, undefined, 'a fraction between 0 and 1');
    num('utilization.min', ['utilization', 'min'], frac, undefined, 'a fraction between 0 and 1');
  }

  alias('scale-down.interval', 'scale-up.grace-period');
  dur('scale-down.interval', ['scaleDown', 'delay']);
  num('scale-down.max-factor', ['scaleDown', 'maxFactor'], frac, undefined, 'a fraction between 0 and 1');
  // The operator caps the scale factor at 1 + f; ours multiplies by at most maxFactor.
  num('scale-up.max-factor', ['scaleUp', 'maxFactor'], (n) => n >= 0, (n) => 1 + n, 'a non-negative number');
  num('vertex.min-parallelism', ['limits', 'minParallelism'], (n) => Number.isInteger(n) && n >= 1, undefined, 'an integer >= 1');
  num('vertex.max-parallelism', ['limits', 'maxParallelism'], (n) => Number.isInteger(n) && n >= 1, undefined, 'an integer >= 1');
  dur('catch-up.duration', ['catchUp']);
  dur('restart.time', ['restart', 'prior']);
  dur('backlog-processing.lag-threshold', ['backlog', 'lagThreshold']);
  bool('scaling.effectiveness.detection.enabled', ['effectiveness', 'enabled']);
  num('scaling.effectiveness.threshold', ['effectiveness', 'threshold'], frac, undefined, 'a fraction between 0 and 1');
  num('memory.heap-usage.threshold', ['memory', 'heapThreshold'], frac, undefined, 'a fraction between 0 and 1');
  num('memory.gc-pressure.threshold', ['memory', 'gcThreshold'], frac, undefined, 'a fraction between 0 and 1');
  dur('history.max.age', ['history', 'maxAge']);
  num('quota.cpu', ['limits', 'quotaCpu'], (n) => n >= 0, undefined, 'a non-negative number');
  if (keys.has('quota.memory')) {
    used.add('quota.memory');
    const mib = flinkMemoryMiB(keys.get('quota.memory')!);
    if (mib === null) invalid('quota.memory', 'not a Flink memory size (e.g. "64g", "4096 mb")');
    else {
      setIn(out.policy, ['limits', 'quotaMemoryMb'], mib);
      applied('quota.memory', `limits.quotaMemoryMb = ${mib}`);
    }
  }
  if (keys.has('excluded.periods')) {
    used.add('excluded.periods');
    const schedules: unknown[] = [];
    const problems: string[] = [];
    keys.get('excluded.periods')!.split(';').map((p) => p.trim()).filter(Boolean).forEach((p, i) => {
      try {
        const w = excludedPeriod(p);
        schedules.push({ name: `operator-excluded-period-${i + 1}`, cron: w.cron, duration: w.durationSec, blackout: true });
      } catch (err) {
        problems.push((err as Error).message);
      }
    });
    if (problems.length > 0) invalid('excluded.periods', problems.join('; '));
    else if (schedules.length > 0) {
      out.policy.schedules = schedules;
      applied('excluded.periods', `schedules: ${schedules.length} blackout window(s)`);
    }
  }
  for (const [k, v] of keys) {
    if (used.has(k) || written.has(k)) continue;
    out.ignored.push({ key: AUTOSCALER_PREFIX + k, value: v, note: IGNORED[k] ?? 'not an autoscaler option flowpilot knows' });
  }
  return out;
}

const isPlain = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** `base` with `over` on top, key by key (arrays and scalars of `over` replace). */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (isPlain(base) && isPlain(over)) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(over)) out[k] = deepMerge(out[k], v);
    return out;
  }
  return over === undefined ? base : over;
}

/** `fragment` without the leaves `file` sets (so a per-job fragment cannot override the file's top level). */
function withoutSetIn(fragment: Record<string, unknown>, file: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fragment)) {
    if (!(k in file)) out[k] = v;
    else if (isPlain(v) && isPlain(file[k])) {
      const inner = withoutSetIn(v, file[k] as Record<string, unknown>);
      if (Object.keys(inner).length > 0) out[k] = inner;
    }
  }
  return out;
}

/**
 * The raw policy: the policy file's raw object over the operator's keys. `global` comes from
 * the FlinkDeployment every job shares (the sidecar case); `perJob` from a job's own
 * FlinkDeployment and becomes that job's override, minus whatever the file sets for all jobs.
 */
export function underPolicyFile(fileRaw: Record<string, unknown>, global: Record<string, unknown> | null, perJob: Record<string, Record<string, unknown>> = {}): Record<string, unknown> {
  const merged = deepMerge(global ?? {}, fileRaw) as Record<string, unknown>;
  const jobs: Record<string, unknown> = { ...(isPlain(merged.jobs) ? merged.jobs : {}) };
  for (const [job, frag] of Object.entries(perJob)) {
    const own = withoutSetIn(frag, fileRaw);
    jobs[job] = deepMerge(own, jobs[job] ?? {});
  }
  return Object.keys(jobs).length > 0 ? { ...merged, jobs } : merged;
}
