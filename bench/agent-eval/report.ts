/**
 * Turns a BenchResult into figures (medians over the measured cycles), checks the targets
 * (agent rule evaluation <= 1.0 x Prometheus's; agent RSS <= 300 MB) and renders the Markdown
 * report that run.ts prints and writes under "## Agent evaluation" in BENCHMARKS.md.
 */
import { AGENT_GLIBC_TUNABLES, AGENT_NODE_FLAGS, median, type BenchResult } from './bench.ts';

export const RSS_TARGET_BYTES = 300 * 1024 * 1024;
export const EVAL_RATIO_TARGET = 1.0;
/** Issue 16: a scrape round takes at most this many times Prometheus's slowest target. */
export const SCRAPE_ROUND_RATIO_TARGET = 2.0;

export interface Summary {
  agentEvalCpuMs: number;
  agentEvalWallMs: number;
  agentScrapeCpuMs: number;
  /** Median over the parallel cycles: every target at once, wall time of the round. */
  agentScrapeWallMs: number;
  /** Loops at their offsets (deployed phase): per interval the latest end of ingest after a target's due time; median over intervals. */
  agentDeployedRoundMs: number;
  /** Same, the longest scrape_duration_seconds of each interval; median over intervals. */
  agentDeployedSlowestMs: number;
  /** Median over the sequential cycles of the slowest target scraped alone. */
  agentSlowestTargetMs: number;
  agentCycleCpuMs: number;
  agentRssBytes: number;
  /** Median over the measured rounds of the sum over groups. */
  promEvalMs: number;
  /** Sum over groups of the median over evaluations no scrape overlapped (a group without any: all its evaluations). */
  promEvalQuietMs: number;
  /** The Prometheus figure the targets are checked against: the lower (so the stricter) of the two above. */
  promEvalRefMs: number;
  promEvalRefKind: 'rounds' | 'quiet';
  promScrapeSumMs: number;
  promScrapeMaxMs: number;
  promCycleCpuMs: number | null;
  promRssBytes: number;
  promRssPeakBytes: number;
  evalRatio: number;
  checks: Array<{ ok: boolean; text: string }>;
  /** Everything that makes the figures suspect (targets down, rule errors, missing data). */
  problems: string[];
}

export function summarize(r: BenchResult): Summary {
  const measured = r.agent.cycles.slice(r.agent.warm).filter((c) => !c.profiled);
  const m = (f: (c: (typeof measured)[number]) => number): number => median(measured.map(f));
  const agentEvalCpuMs = m((c) => c.evalCpuMs);
  const promEvalMs = median(r.prometheus.rounds.map((x) => x.sumMs));
  let promEvalQuietMs = 0;
  for (const [g, quiet] of Object.entries(r.prometheus.quietGroups)) promEvalQuietMs += quiet ?? median(r.prometheus.rounds.map((x) => x.groups[g] ?? NaN));
  const useQuiet = r.prometheus.quietEvaluations > 0 && Number.isFinite(promEvalQuietMs) && promEvalQuietMs > 0 && promEvalQuietMs < promEvalMs;
  const promEvalRefMs = useQuiet ? promEvalQuietMs : promEvalMs;
  const agentEvalWallMs = m((c) => c.evalWallMs);
  const evalRatio = agentEvalCpuMs / promEvalRefMs;
  const wallRatio = agentEvalWallMs / promEvalRefMs;
  const agentScrapeWallMs = median(measured.filter((c) => c.scrapeMode === 'parallel').map((c) => c.scrapeWallMs));
  const promScrapeMaxMs = median(r.prometheus.scrapeRounds.map((x) => x.maxMs));
  const byInterval = new Map<number, { end: number; dur: number }>();
  for (const d of r.agent.deployed) {
    const e = byInterval.get(d.interval) ?? { end: 0, dur: 0 };
    byInterval.set(d.interval, { end: Math.max(e.end, d.endLateMs), dur: Math.max(e.dur, d.durationMs) });
  }
  const agentDeployedRoundMs = median([...byInterval.values()].map((e) => e.end));
  const agentDeployedSlowestMs = median([...byInterval.values()].map((e) => e.dur));
  const agentRssBytes = Math.max(r.agent.maxRssBytes, r.agent.rssPeakSampledBytes);
  const problems: string[] = [];
  for (const t of r.agent.targetsDown) problems.push(`agent: target down: ${t}`);
  for (const t of r.prometheus.targetsDown) problems.push(`Prometheus: target down: ${t}`);
  for (const e of r.agent.ruleErrors) problems.push(`agent: rule error: ${e}`);
  for (const s of r.agent.selectorsWithoutData) problems.push(`no series for selector ${s}`);
  for (const n of r.prometheus.notes) problems.push(n);
  if (r.agent.samplesScraped !== r.expectedSeries) problems.push(`agent scraped ${r.agent.samplesScraped} samples per cycle, the job exposes ${r.expectedSeries}`);
  if (r.prometheus.samplesScraped !== r.expectedSeries) problems.push(`Prometheus scraped ${r.prometheus.samplesScraped} samples per cycle, the job exposes ${r.expectedSeries}`);
  if (r.prometheus.rounds.length === 0) problems.push('Prometheus produced no measured evaluation');
  const checks = [
    {
      ok: evalRatio <= EVAL_RATIO_TARGET,
      text: `rule evaluation: agent ${ms(agentEvalCpuMs)} CPU time vs Prometheus ${ms(promEvalRefMs)} (sum of prometheus_rule_group_last_duration_seconds) = ${ratio(evalRatio)} (target <= ${EVAL_RATIO_TARGET.toFixed(1)} x)`,
    },
    {
      ok: wallRatio <= EVAL_RATIO_TARGET,
      text: `rule evaluation, wall against wall: agent ${ms(agentEvalWallMs)} vs Prometheus ${ms(promEvalRefMs)} = ${ratio(wallRatio)} (target <= ${EVAL_RATIO_TARGET.toFixed(1)} x)`,
    },
    {
      ok: agentDeployedRoundMs <= SCRAPE_ROUND_RATIO_TARGET * promScrapeMaxMs,
      text: `scrape round, every target on its own loop at its offset (as deployed): agent ${ms(agentDeployedRoundMs)} from a target's due time to its samples in the store, the latest target of the interval, vs Prometheus's slowest target ${ms(promScrapeMaxMs)} = ${ratio(agentDeployedRoundMs / promScrapeMaxMs)} (target <= ${SCRAPE_ROUND_RATIO_TARGET.toFixed(1)} x)`,
    },
    {
      ok: agentScrapeWallMs <= SCRAPE_ROUND_RATIO_TARGET * promScrapeMaxMs,
      text: `worst case, every offset colliding: agent round (every target at once) agent ${ms(agentScrapeWallMs)} wall vs Prometheus's slowest target ${ms(promScrapeMaxMs)} = ${ratio(agentScrapeWallMs / promScrapeMaxMs)} (target <= ${SCRAPE_ROUND_RATIO_TARGET.toFixed(1)} x)`,
    },
    { ok: agentRssBytes <= RSS_TARGET_BYTES, text: `agent RSS peak ${mb(agentRssBytes)} (target <= ${mb(RSS_TARGET_BYTES)})` },
  ];
  return {
    agentEvalCpuMs,
    agentEvalWallMs,
    agentScrapeCpuMs: m((c) => c.scrapeCpuMs),
    agentScrapeWallMs,
    agentDeployedRoundMs,
    agentDeployedSlowestMs,
    agentSlowestTargetMs: median(measured.filter((c) => c.scrapeMode === 'sequential').map((c) => c.slowestTargetMs)),
    agentCycleCpuMs: m((c) => c.scrapeCpuMs + c.evalCpuMs),
    agentRssBytes,
    promEvalMs,
    promEvalQuietMs,
    promEvalRefMs,
    promEvalRefKind: useQuiet ? 'quiet' : 'rounds',
    promScrapeSumMs: median(r.prometheus.scrapeRounds.map((x) => x.sumMs)),
    promScrapeMaxMs,
    promCycleCpuMs: r.prometheus.cpuPerCycleMs,
    promRssBytes: r.prometheus.rssBytes,
    promRssPeakBytes: r.prometheus.rssPeakBytes,
    evalRatio,
    checks,
    problems,
  };
}

function ms(x: number | null): string {
  if (x === null || !Number.isFinite(x)) return 'n/a';
  return x >= 100 ? `${x.toFixed(0)} ms` : `${x.toFixed(1)} ms`;
}
function mb(x: number): string {
  return Number.isFinite(x) && x > 0 ? `${(x / 1024 / 1024).toFixed(0)} MB` : 'n/a';
}
function ratio(x: number | null): string {
  return x === null || !Number.isFinite(x) ? 'n/a' : `${x.toFixed(2)} x`;
}

function deployedLine(r: BenchResult): string {
  if (r.agent.deployed.length === 0) return 'not run';
  const byTarget = new Map<string, { offset: number; ends: number[] }>();
  for (const d of r.agent.deployed) {
    const e = byTarget.get(d.target) ?? { offset: d.offsetMs, ends: [] };
    e.ends.push(d.endLateMs);
    byTarget.set(d.target, e);
  }
  return [...byTarget.values()].sort((a, b) => a.offset - b.offset).map((e) => `${e.offset}: ${e.ends.map((x) => x.toFixed(0)).join('/')}`).join(', ');
}

function alertsLine(a: Record<string, { pending: number; firing: number }>): string {
  const names = Object.keys(a).sort();
  if (names.length === 0) return 'none';
  return names.map((n) => `${n} ${a[n]!.pending}p/${a[n]!.firing}f`).join(', ');
}

/** The report body (no heading): tables, checks, sanity lines, and profile frames when present. */
export function renderReport(r: BenchResult, s: Summary): string {
  const o = r.options;
  const measured = r.agent.cycles.slice(r.agent.warm).filter((c) => !c.profiled);
  const lines: string[] = [];
  const quietAll = Object.values(r.prometheus.quietGroups).every((q) => q !== null);
  lines.push(
    `Synthetic job: ${o.vertices} vertices x ${o.subtasks} subtasks, ${r.expectedSeries} series on ${r.targets} targets (one per TaskManager, the JobManager, the agent's own metrics), Flink reporter names and labels; scrape and evaluation interval ${o.intervalMs} ms; ${o.warm} warm-up scrapes, then the median of ${measured.length} measured cycles (agent) and ${r.prometheus.rounds.length} measured evaluation rounds (Prometheus ${r.prometheus.version}). Rule pack: rules/*.yml (${Object.keys(r.prometheus.rules).length} rules). The two sides run one after the other on the same targets.${o.paced === false ? ' The agent\'s cycles ran back to back.' : ' The agent\'s cycles run one interval apart in real time, as deployed.'} The agent child runs with the settings \`bin/flowpilot agent\` gives the agent: Node flags \`${AGENT_NODE_FLAGS.join(' ')}\`, \`GLIBC_TUNABLES=${AGENT_GLIBC_TUNABLES}\`, and Node's compile cache, filled by one earlier load of the agent's modules.${o.agentNodeFlags?.length ? ` Extra agent child Node flags: \`${o.agentNodeFlags.join(' ')}\`.` : ''}`,
    '',
    '| measure | agent | Prometheus | agent / Prometheus |',
    '|---|---:|---:|---:|',
    `| rule evaluation, all groups (agent: CPU time; Prometheus: sum over groups of prometheus_rule_group_last_duration_seconds, ${s.promEvalRefKind === 'rounds' ? 'median over the measured rounds' : quietAll ? 'median over the evaluations no scrape overlapped' : 'per group the median over the evaluations no scrape overlapped, or over every measured one when none was'}) | ${ms(s.agentEvalCpuMs)} | ${ms(s.promEvalRefMs)} | ${ratio(s.evalRatio)} |`,
    `| rule evaluation, wall time (Prometheus: as above) | ${ms(s.agentEvalWallMs)} | ${ms(s.promEvalRefMs)} | ${ratio(s.agentEvalWallMs / s.promEvalRefMs)} |`,
    ...(s.promEvalRefKind === 'quiet' ? [`| rule evaluation, Prometheus: median over the measured rounds (scrapes running alongside) | | ${ms(s.promEvalMs)} | ${ratio(s.agentEvalCpuMs / s.promEvalMs)} |`] : []),
    `| scrape of every target (agent: CPU time; Prometheus: sum of scrape_duration_seconds) | ${ms(s.agentScrapeCpuMs)} | ${ms(s.promScrapeSumMs)} | ${ratio(s.agentScrapeCpuMs / s.promScrapeSumMs)} |`,
    `| scrape round, wall time (agent: every target started at once, in parallel through the scrape concurrency bound, until the last is ingested; Prometheus: slowest target's scrape_duration_seconds) | ${ms(s.agentScrapeWallMs)} | ${ms(s.promScrapeMaxMs)} | ${ratio(s.agentScrapeWallMs / s.promScrapeMaxMs)} |`,
    `| scrape round with every target on its own loop at its hash offset, as deployed (agent: per interval, the latest of due time -> samples in the store over the targets, median over ${new Set(r.agent.deployed.map((d) => d.interval)).size} intervals; Prometheus: slowest target's scrape_duration_seconds) | ${ms(s.agentDeployedRoundMs)} | ${ms(s.promScrapeMaxMs)} | ${ratio(s.agentDeployedRoundMs / s.promScrapeMaxMs)} |`,
    `| slowest target's scrape_duration_seconds in that phase (request + parse + ingest, as Prometheus times it) | ${ms(s.agentDeployedSlowestMs)} | ${ms(s.promScrapeMaxMs)} | ${ratio(s.agentDeployedSlowestMs / s.promScrapeMaxMs)} |`,
    `| slowest target, wall time (agent: each target alone, request + parse + ingest, as the offsets spread them; Prometheus: as above) | ${ms(s.agentSlowestTargetMs)} | ${ms(s.promScrapeMaxMs)} | ${ratio(s.agentSlowestTargetMs / s.promScrapeMaxMs)} |`,
    `| CPU per scrape + evaluate cycle (Prometheus: process_cpu_seconds_total per interval) | ${ms(s.agentCycleCpuMs)} | ${ms(s.promCycleCpuMs)} | ${ratio(s.promCycleCpuMs === null ? null : s.agentCycleCpuMs / s.promCycleCpuMs)} |`,
    `| RSS (agent: peak of the child process; Prometheus: process_resident_memory_bytes at the end) | ${mb(s.agentRssBytes)} | ${mb(s.promRssBytes)} | ${ratio(s.agentRssBytes / s.promRssBytes)} |`,
    `| RSS peak (Prometheus: VmHWM) | ${mb(s.agentRssBytes)} | ${mb(s.promRssPeakBytes)} | ${ratio(s.agentRssBytes / s.promRssPeakBytes)} |`,
    '',
    `How to read it: Prometheus's rule-group durations are wall-clock times of a process that is scraping the same series meanwhile (${r.prometheus.quietEvaluations} of its measured group evaluations had no scrape in flight) on a machine shared with other work; the agent's evaluation CPU time leaves out time spent waiting for a core, its wall time does not. CPU against CPU, the closest pair is the whole-cycle row: process_cpu_seconds_total per interval against the agent's scrape + evaluation CPU.`,
    '',
    'Per group (agent: median wall time of the group; Prometheus: median last duration over all measured rounds, and over the evaluations no scrape overlapped):',
    '',
    '| group | agent | Prometheus | Prometheus, no scrape in flight |',
    '|---|---:|---:|---:|',
  );
  const groups = new Set([...measured.flatMap((c) => Object.keys(c.groups)), ...r.prometheus.rounds.flatMap((x) => Object.keys(x.groups))]);
  for (const g of [...groups].sort()) {
    lines.push(`| ${g} | ${ms(median(measured.map((c) => c.groups[g] ?? NaN)))} | ${ms(median(r.prometheus.rounds.map((x) => x.groups[g] ?? NaN)))} | ${ms(r.prometheus.quietGroups[g] ?? null)} |`);
  }
  const ruleNames = new Set(measured.flatMap((c) => Object.keys(c.rules)));
  const ruleRows = [...ruleNames].map((n) => ({ n, agent: median(measured.map((c) => c.rules[n] ?? NaN)), prom: r.prometheus.rules[n] ?? NaN })).sort((a, b) => b.agent - a.agent);
  lines.push('', 'Slowest rules (agent: median wall time; Prometheus: evaluationTime of its last evaluation from /api/v1/rules):', '', '| rule | agent | Prometheus |', '|---|---:|---:|');
  for (const row of ruleRows.slice(0, 8)) lines.push(`| ${row.n} | ${ms(row.agent)} | ${ms(row.prom)} |`);
  lines.push('', 'Targets:', '', ...s.checks.map((c) => `- ${c.ok ? 'met' : '**missed**'}: ${c.text}`));
  lines.push(
    '',
    'Sanity:',
    '',
    `- samples per scrape cycle: job ${r.expectedSeries}, agent ${r.agent.samplesScraped}, Prometheus ${r.prometheus.samplesScraped}; agent tsdb series ${r.agent.series}, Prometheus head series ${r.prometheus.headSeries}`,
    `- active alerts (pending/firing) agent: ${alertsLine(r.agent.alerts)}`,
    `- active alerts (pending/firing) Prometheus: ${alertsLine(r.prometheus.alerts)}`,
    `- agent cycles (scrape CPU / eval CPU, ms): ${r.agent.cycles.map((c, i) => `${i < r.agent.warm ? 'warm ' : c.profiled ? 'profiled ' : ''}${c.scrapeCpuMs.toFixed(0)}/${c.evalCpuMs.toFixed(0)}`).join(', ')}`,
    `- agent scrape rounds (mode: round wall / slowest target, ms): ${r.agent.cycles.map((c, i) => `${i < r.agent.warm ? 'warm ' : c.profiled ? 'profiled ' : ''}${c.scrapeMode} ${c.scrapeWallMs.toFixed(0)}/${c.slowestTargetMs.toFixed(0)}`).join(', ')}`,
    `- agent loops at their offsets (target offset ms: due -> end of ingest per interval, ms): ${deployedLine(r)}`,
    `- Prometheus evaluation rounds (sum, ms): ${r.prometheus.rounds.map((x) => x.sumMs.toFixed(1)).join(', ') || 'none'}; group evaluations with no scrape in flight: ${r.prometheus.quietEvaluations}`,
    `- agent memory: RSS with its modules loaded, before the first scrape ${mb(r.agent.rssAtStartBytes)}; heap after a full GC with the store, rules and scrape state kept ${r.agent.retained ? `${mb(r.agent.retained.heapUsedBytes)}, ${Math.round((r.agent.retained.heapUsedBytes - r.agent.heapUsedAtStartBytes) / r.agent.series)} bytes per series over the heap at start` : 'n/a'} (RSS then ${r.agent.retained ? mb(r.agent.retained.rssBytes) : 'n/a'}); V8 spaces at the end (MB): ${Object.entries(r.agent.heapSpacesMb).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `- problems: ${s.problems.length === 0 ? 'none' : s.problems.join('; ')}`,
  );
  const p = r.agent.profile;
  if (p) {
    lines.push('', 'Agent CPU profile of one extra evaluation (top frames by self time; total = inclusive):', '', '| frame | self | total |', '|---|---:|---:|');
    for (const f of p.eval) lines.push(`| \`${f.frame}\` | ${ms(f.selfMs)} | ${ms(f.totalMs)} |`);
    lines.push('', 'Agent CPU profile of one extra scrape:', '', '| frame | self | total |', '|---|---:|---:|');
    for (const f of p.scrape) lines.push(`| \`${f.frame}\` | ${ms(f.selfMs)} | ${ms(f.totalMs)} |`);
  }
  return lines.join('\n');
}
