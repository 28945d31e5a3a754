/**
 * The Prometheus side of the benchmark: starts the real Prometheus 2.42 (Debian's binary) on
 * 127.0.0.1 with the same targets, rule files and scrape/evaluation interval as the agent, lets
 * it scrape `warm` times, then watches its own /metrics for `measured` evaluations of every
 * group (`prometheus_rule_group_last_duration_seconds` with its last-evaluation timestamp) and
 * reads scrape durations (`scrape_duration_seconds`), RSS (`process_resident_memory_bytes`, and
 * the peak VmHWM from /proc) and CPU (`process_cpu_seconds_total`) per scrape cycle.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parsePrometheusText } from '../../agent/collect/prometheus-text.ts';
import { freePort, startChild, waitFor, whichBinary, type Child } from '../../test/support/processes.ts';
import type { ServedTarget } from './server.ts';

export interface PrometheusRunOptions {
  scrape: Array<{ job: string; targets: string[] }>;
  ruleFiles: string[];
  intervalMs: number;
  warm: number;
  measured: number;
  /** The served targets (their request logs tell how many scrapes preceded an evaluation). */
  served: ServedTarget[];
  /** Give up waiting for evaluations at this time (ms since the epoch) and report what was seen. */
  deadline: number;
  /** Called with the child and its temp dir as soon as they exist, so the caller can clean up on exit. */
  track(child: Child, dir: string): void;
}

/** Time after an answer is sent during which Prometheus is taken to be still parsing and appending it. */
const SCRAPE_TAIL_MS = 500;

export interface PrometheusRound {
  /** Group name -> last duration (ms). */
  groups: Record<string, number>;
  sumMs: number;
}

export interface PrometheusResult {
  version: string;
  rounds: PrometheusRound[];
  /**
   * Group name -> median last duration (ms) over the measured evaluations that no scrape
   * overlapped (from request start to answer sent + SCRAPE_TAIL_MS); null when there was none.
   */
  quietGroups: Record<string, number | null>;
  quietEvaluations: number;
  /** `group/rule` -> evaluationTime of its last evaluation (ms), from /api/v1/rules. */
  rules: Record<string, number>;
  /** Per measured scrape round: sum and max over targets of scrape_duration_seconds (ms). */
  scrapeRounds: Array<{ sumMs: number; maxMs: number }>;
  samplesScraped: number;
  headSeries: number;
  rssBytes: number;
  rssPeakBytes: number;
  /** process_cpu_seconds_total spent per scrape interval over the measured window (ms). */
  cpuPerCycleMs: number | null;
  alerts: Record<string, { pending: number; firing: number }>;
  targetsDown: string[];
  notes: string[];
}

function gauge(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of parsePrometheusText(text).samples) {
    if (s.name !== name) continue;
    out.set(s.labels.rule_group ?? '', s.value);
  }
  return out;
}

function groupName(ruleGroup: string): string {
  return ruleGroup.slice(ruleGroup.lastIndexOf(';') + 1);
}

async function api<T>(base: string, path: string, params: Record<string, string> = {}): Promise<T> {
  const res = await fetch(`${base}${path}?${new URLSearchParams(params)}`, { signal: AbortSignal.timeout(120_000) });
  const json = (await res.json()) as { status: string; data: T; error?: string };
  if (json.status !== 'success') throw new Error(`${path} failed: ${json.error ?? res.status}`);
  return json.data;
}

function vmHwm(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** Whether any scrape was in flight (or still being ingested) during [from, to]. */
function scrapeOverlaps(served: ServedTarget[], from: number, to: number): boolean {
  for (const s of served) {
    for (let i = 0; i < s.requests.length; i++) {
      const end = (s.finished[i] ?? Infinity) + SCRAPE_TAIL_MS;
      if (s.requests[i]! < to && end > from) return true;
    }
  }
  return false;
}

/** Scrapes that started before tMs, on the target with the fewest. */
function scrapesBefore(served: ServedTarget[], tMs: number): number {
  let min = Infinity;
  for (const s of served) {
    let n = 0;
    for (const r of s.requests) if (r < tMs) n++;
    min = Math.min(min, n);
  }
  return min;
}

export async function runPrometheus(opts: PrometheusRunOptions): Promise<PrometheusResult> {
  const bin = whichBinary('prometheus');
  if (!bin) throw new Error('prometheus is not installed (apt-get install prometheus)');
  const v = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 5_000 });
  const version = /version (\S+)/.exec(`${v.stdout ?? ''}${v.stderr ?? ''}`)?.[1] ?? 'unknown';
  const dir = mkdtempSync(join(tmpdir(), 'fp-agent-eval-prom-'));
  const port = await freePort();
  const interval = `${opts.intervalMs}ms`;
  writeFileSync(join(dir, 'prometheus.yml'), stringify({
    global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: `${Math.min(opts.intervalMs, 10_000)}ms` },
    rule_files: opts.ruleFiles,
    scrape_configs: opts.scrape.map((s) => ({ job_name: s.job, static_configs: [{ targets: s.targets }] })),
  }));
  const child = startChild(bin, [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
  ]);
  opts.track(child, dir);
  const base = `http://127.0.0.1:${port}`;
  const notes: string[] = [];
  try {
    await waitFor('prometheus /-/ready', async () => {
      if (child.proc.exitCode !== null) throw new Error(`prometheus exited: ${child.output()}`);
      return (await fetch(`${base}/-/ready`).catch(() => null))?.ok === true;
    }, 20_000);

    const seen = new Map<string, number>();
    const observed = new Map<string, number[]>();
    const observedAt = new Map<string, number[]>();
    let cpuStart: { cpu: number; scrapes: number } | null = null;
    let cpuEnd: { cpu: number; scrapes: number } | null = null;
    let metricsText = '';
    for (;;) {
      try {
        metricsText = await (await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(30_000) })).text();
      } catch (err) {
        // A loaded machine can leave Prometheus unable to answer in time; try again until the deadline.
        if (Date.now() > opts.deadline) throw err;
        continue;
      }
      const stamps = gauge(metricsText, 'prometheus_rule_group_last_evaluation_timestamp_seconds');
      const durations = gauge(metricsText, 'prometheus_rule_group_last_duration_seconds');
      const cpu = parsePrometheusText(metricsText).samples.find((s) => s.name === 'process_cpu_seconds_total')?.value ?? NaN;
      for (const [key, ts] of stamps) {
        if (ts <= 0 || seen.get(key) === ts) continue;
        seen.set(key, ts);
        if (scrapesBefore(opts.served, ts * 1000) < opts.warm + 1) continue;
        const list = observed.get(key) ?? [];
        list.push((durations.get(key) ?? NaN) * 1000);
        observed.set(key, list);
        observedAt.set(key, [...(observedAt.get(key) ?? []), ts * 1000]);
        if (cpuStart === null) cpuStart = { cpu, scrapes: scrapesBefore(opts.served, Date.now()) };
      }
      if (cpuStart !== null) cpuEnd = { cpu, scrapes: scrapesBefore(opts.served, Date.now()) };
      const done = stamps.size > 0 && [...stamps.keys()].every((k) => (observed.get(k)?.length ?? 0) >= opts.measured);
      if (done) break;
      if (Date.now() > opts.deadline) {
        notes.push(`Prometheus phase hit its time limit after ${Math.min(...[...stamps.keys()].map((k) => observed.get(k)?.length ?? 0))} measured evaluation(s) of every group (wanted ${opts.measured})`);
        break;
      }
      if (child.proc.exitCode !== null) throw new Error(`prometheus exited: ${child.output()}`);
      await new Promise((r) => setTimeout(r, 250));
    }

    const rounds: PrometheusRound[] = [];
    const n = Math.min(...[...observed.values()].map((l) => l.length), opts.measured);
    for (let j = 0; j < (Number.isFinite(n) ? n : 0); j++) {
      const groups: Record<string, number> = {};
      let sumMs = 0;
      for (const [key, list] of observed) {
        groups[groupName(key)] = list[j]!;
        sumMs += list[j]!;
      }
      rounds.push({ groups, sumMs });
    }

    // Decided after the loop: a scrape that started after an evaluation was first seen may still overlap it.
    const quietGroups: Record<string, number | null> = {};
    let quietEvaluations = 0;
    for (const [key, list] of observed) {
      const at = observedAt.get(key)!;
      const quiet = list.filter((d, i) => !scrapeOverlaps(opts.served, at[i]!, at[i]! + d));
      quietEvaluations += quiet.length;
      quietGroups[groupName(key)] = quiet.length > 0 ? median(quiet) : null;
    }

    const ruleData = await api<{ groups: Array<{ name: string; rules: Array<{ name: string; evaluationTime: number; type: string; alerts?: Array<{ state: string }> }> }> }>(base, '/api/v1/rules');
    const rules: Record<string, number> = {};
    const alerts: PrometheusResult['alerts'] = {};
    for (const g of ruleData.groups) {
      for (const r of g.rules) {
        rules[`${g.name}/${r.name}`] = (rules[`${g.name}/${r.name}`] ?? 0) + r.evaluationTime * 1000;
        for (const a of r.alerts ?? []) {
          const entry = (alerts[r.name] ??= { pending: 0, firing: 0 });
          if (a.state === 'firing') entry.firing++;
          else if (a.state === 'pending') entry.pending++;
        }
      }
    }

    const rangeS = Math.ceil((opts.intervalMs * (opts.measured + 1)) / 1000);
    const durations = await api<{ result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> }>(base, '/api/v1/query', { query: `scrape_duration_seconds[${rangeS}s]` });
    const perTarget = durations.result.map((r) => r.values.map(([, v]) => Number(v) * 1000));
    const k = Math.min(opts.measured, ...perTarget.map((v) => v.length));
    const scrapeRounds: PrometheusResult['scrapeRounds'] = [];
    for (let j = 0; j < k; j++) {
      const vals = perTarget.map((v) => v[v.length - k + j]!);
      scrapeRounds.push({ sumMs: vals.reduce((a, b) => a + b, 0), maxMs: Math.max(...vals) });
    }
    const scalar = async (q: string): Promise<number> => {
      const d = await api<{ result: Array<{ value: [number, string] }> }>(base, '/api/v1/query', { query: q });
      return d.result.length > 0 ? Number(d.result[0]!.value[1]) : NaN;
    };
    const samplesScraped = await scalar('sum(scrape_samples_scraped)');
    const down = await api<{ result: Array<{ metric: Record<string, string> }> }>(base, '/api/v1/query', { query: 'up == 0' });
    const final = parsePrometheusText(await (await fetch(`${base}/metrics`)).text()).samples;
    const value = (name: string): number => final.find((s) => s.name === name)?.value ?? NaN;
    const cpuPerCycleMs = cpuStart && cpuEnd && cpuEnd.scrapes > cpuStart.scrapes ? ((cpuEnd.cpu - cpuStart.cpu) * 1000) / (cpuEnd.scrapes - cpuStart.scrapes) : null;
    return {
      version,
      rounds,
      quietGroups,
      quietEvaluations,
      rules,
      scrapeRounds,
      samplesScraped,
      headSeries: value('prometheus_tsdb_head_series'),
      rssBytes: value('process_resident_memory_bytes'),
      rssPeakBytes: vmHwm(child.proc.pid),
      cpuPerCycleMs,
      alerts,
      targetsDown: down.result.map((r) => r.metric.instance ?? '?'),
      notes,
    };
  } finally {
    await child.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
