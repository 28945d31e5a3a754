/**
 * The agent side of the benchmark, run in its own child process so that its RSS is the agent's
 * alone. It wires the agent's own parts as agent/process/agent.ts does (config defaults from the
 * config schema, MemoryStorage, PromQLEngine, RuleManager over the rule files, one ScrapeLoop
 * per static target built by staticTargets) but drives them by hand with an injected clock:
 * `warm` cycles of scrape-all-targets then evaluate-every-group, each one interval of simulated
 * time apart, so range windows hold the same number of samples as Prometheus's do after as
 * many real scrapes; then `measured` cycles whose CPU time (process.cpuUsage) and wall time are
 * recorded. Cycles alternate between two ways of scraping: 'parallel' starts every target's
 * scrape at once through the agent's shared concurrency bound (ScrapeSlots, as ScrapeManager
 * gives its loops), the worst case of the deployed loops, where every offset collides; its
 * wall time is the scrape round's. 'sequential' scrapes the targets one after another in
 * offset order, as the deployed loops do when their offsets spread them over the interval, and
 * times each target alone: the slowest of those is the figure to set against Prometheus's
 * slowest target. All samples of a cycle carry the cycle's time. Cycles are
 * paced in real time, one interval apart, as the deployed agent's are (unless `paced` is false):
 * V8 collects the old generation in the idle time between them, which back-to-back cycles never
 * leave it. RSS is sampled throughout; the peak is also read from getrusage (maxRSS).
 *
 * Protocol: the parent forks this file, sends one AgentCycleRequest, and receives one
 * `{ result }` or `{ error }` message.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { getHeapSpaceStatistics } from 'node:v8';
import { MemoryStorage, type LabelMatcher } from '../../agent/tsdb/index.ts';
import { PromQLEngine, parseExpr, type Expr } from '../../agent/promql/index.ts';
import { AlertingRule, RuleManager } from '../../agent/rules/index.ts';
import { DEFAULT_MAX_CONCURRENT_SCRAPES, ScrapeLoop, ScrapeSlots } from '../../agent/collect/scraper.ts';
import { staticTargets } from '../../agent/process/targets.ts';
import { profiled, topFrames, type TopFrame } from './cpu-profile.ts';
import { benchAgent } from './agent-setup.ts';
// The deployed agent process (`flowpilot agent`) loads this whole module graph (server,
// notifier, autoscaler, actuation, ...); loading it here too makes the RSS the agent's, not
// just that of the parts driven. (The CLI's own command registration is not included.)
import '../../agent/process/main.ts';

const ROOT = resolve(import.meta.dirname, '../..');

export interface AgentCycleRequest {
  /** Scrape groups: job label and host:port targets. */
  scrape: Array<{ job: string; targets: string[] }>;
  ruleFiles: string[];
  intervalMs: number;
  warm: number;
  measured: number;
  /** When set, one more cycle after the measured ones is CPU-profiled (and not counted); profiles are written here. */
  profileDir?: string;
  /** Start each cycle one interval (real time) after the previous one; default true. */
  paced?: boolean;
  /**
   * After the cycles, run the loops as deployed for this many intervals (default 3; 0 skips):
   * each target on its own timer at its hash offset (ScrapeLoop.start), real time.
   */
  deployedIntervals?: number;
}

/** One scrape of the deployed phase: how long after its due time (its offset on the interval grid) it started and ended. */
export interface DeployedScrape {
  target: string;
  offsetMs: number;
  /** Interval index on the grid. */
  interval: number;
  startLateMs: number;
  /** Due time to the end of ingest. */
  endLateMs: number;
  /** What the agent recorded as scrape_duration_seconds (request, parse, ingest), ms. */
  durationMs: number;
}

export interface CycleFigures {
  scrapeCpuMs: number;
  scrapeWallMs: number;
  /** 'parallel': every target at once through the concurrency bound; 'sequential': one after another. */
  scrapeMode: 'parallel' | 'sequential';
  /** The longest single target's scrape (request, parse and ingest), wall ms. */
  slowestTargetMs: number;
  evalCpuMs: number;
  evalWallMs: number;
  /** Group name -> the group's own evaluation duration (wall, ms). */
  groups: Record<string, number>;
  /** `group/rule` -> duration (ms). */
  rules: Record<string, number>;
  /** process.memoryUsage() right after the scrape and right after the evaluation (bytes). */
  memAfterScrape: NodeJS.MemoryUsage;
  memAfterEval: NodeJS.MemoryUsage;
  /** True for the extra profiled cycle (its figures carry the profiler's overhead). */
  profiled: boolean;
}

export interface AgentCycleResult {
  cycles: CycleFigures[];
  warm: number;
  series: number;
  samplesScraped: number;
  targetsDown: string[];
  ruleErrors: string[];
  /** `selector (in rule)` for every vector selector of the pack that selects no series. */
  selectorsWithoutData: string[];
  alerts: Record<string, { pending: number; firing: number }>;
  /** RSS and heap once the agent's modules are loaded, before the first scrape. */
  rssAtStartBytes: number;
  heapUsedAtStartBytes: number;
  rssPeakSampledBytes: number;
  maxRssBytes: number;
  rssEndBytes: number;
  heapUsedEndBytes: number;
  /** After a full GC with the store still alive (when the child runs with --expose-gc): what the agent keeps. */
  retained?: { heapUsedBytes: number; rssBytes: number };
  /** V8 heap spaces at the end (before that GC), MB, to show where the RSS goes. */
  heapSpacesMb: Record<string, number>;
  profile?: { eval: TopFrame[]; scrape: TopFrame[]; files: string[] };
  /** The deployed phase's scrapes (empty when skipped). */
  deployed: DeployedScrape[];
  /** Each target's offset in the interval, ms. */
  offsetsMs: number[];
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}

function selectors(e: Expr, out: Array<{ text: string; matchers: readonly LabelMatcher[] }>, src: string): void {
  switch (e.kind) {
    case 'vector_selector':
      out.push({ text: src.slice(e.pos.start, e.pos.end), matchers: e.matchers });
      return;
    case 'matrix_selector':
      selectors(e.vector, out, src);
      return;
    case 'subquery':
    case 'paren':
    case 'unary':
      selectors(e.expr, out, src);
      return;
    case 'aggregate':
      selectors(e.expr, out, src);
      if (e.param) selectors(e.param, out, src);
      return;
    case 'binary':
      selectors(e.lhs, out, src);
      selectors(e.rhs, out, src);
      return;
    case 'call':
      for (const a of e.args) selectors(a, out, src);
      return;
    default:
  }
}

export async function runAgentCycles(req: AgentCycleRequest): Promise<AgentCycleResult> {
  const { rss: rssAtStartBytes, heapUsed: heapUsedAtStartBytes } = process.memoryUsage();
  let rssPeak = 0;
  const sampleRss = (): void => {
    rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
  };
  const sampler = setInterval(sampleRss, 25);
  try {
    const { cfg, storage, engine, rules, scrapeMetrics: metrics } = await benchAgent({ intervalMs: req.intervalMs, scrape: req.scrape, ruleFiles: req.ruleFiles, source: 'bench/agent-eval' });
    let now = Math.floor(Date.now() / req.intervalMs) * req.intervalMs;
    // The deployed phase runs on the real clock, moved past the simulated one (samples stay in order).
    let skew: number | null = null;
    const clockNow = (): number => (skew === null ? now : Date.now() + skew);
    const slots = new ScrapeSlots(DEFAULT_MAX_CONCURRENT_SCRAPES);
    const loops = staticTargets(cfg).map((t) => new ScrapeLoop(t, { pool: 'static', appender: storage, metrics, slots, now: clockNow }));

    const ordered = [...loops].sort((a, b) => a.offsetMs - b.offsetMs);

    const cycles: CycleFigures[] = [];
    const total = req.warm + req.measured + (req.profileDir !== undefined ? 1 : 0);
    let profile: AgentCycleResult['profile'];
    for (let i = 0; i < total; i++) {
      const last = i === total - 1;
      const doProfile = req.profileDir !== undefined && i === req.warm + req.measured;
      const scrapeMode: CycleFigures['scrapeMode'] = i % 2 === 0 ? 'parallel' : 'sequential';
      let slowestTargetMs = 0;
      const timed = async (l: ScrapeLoop): Promise<void> => {
        const t0 = performance.now();
        await l.scrapeOnce();
        slowestTargetMs = Math.max(slowestTargetMs, performance.now() - t0);
      };
      const scrapeAll = async (): Promise<void> => {
        if (scrapeMode === 'parallel') await Promise.all(ordered.map(timed));
        else for (const l of ordered) await timed(l);
      };
      const c0 = process.cpuUsage();
      const w0 = performance.now();
      const scrapeProfile = doProfile ? (await profiled(scrapeAll)).profile : (await scrapeAll(), null);
      const scrapeCpuMs = cpuMs(c0);
      const scrapeWallMs = performance.now() - w0;
      sampleRss();
      const memAfterScrape = process.memoryUsage();
      const evalAt = now + Math.floor(req.intervalMs / 2);
      const evalAll = (): Promise<void> => rules.evaluateAll(evalAt);
      const c1 = process.cpuUsage();
      const w1 = performance.now();
      const evalProfile = doProfile ? (await profiled(evalAll)).profile : (await evalAll(), null);
      const evalCpuMs = cpuMs(c1);
      const evalWallMs = performance.now() - w1;
      sampleRss();
      const memAfterEval = process.memoryUsage();
      const groups: Record<string, number> = {};
      const ruleTimes: Record<string, number> = {};
      for (const g of rules.groups()) {
        groups[g.name] = g.evaluationDurationMs;
        for (const r of g.rules) ruleTimes[`${g.name}/${r.name}`] = (ruleTimes[`${g.name}/${r.name}`] ?? 0) + r.evaluationDurationMs;
      }
      cycles.push({ scrapeCpuMs, scrapeWallMs, scrapeMode, slowestTargetMs, evalCpuMs, evalWallMs, groups, rules: ruleTimes, memAfterScrape, memAfterEval, profiled: doProfile });
      if (scrapeProfile && evalProfile && req.profileDir) {
        const files = [join(req.profileDir, 'agent-eval.cpuprofile'), join(req.profileDir, 'agent-scrape.cpuprofile')];
        writeFileSync(files[0]!, JSON.stringify(evalProfile));
        writeFileSync(files[1]!, JSON.stringify(scrapeProfile));
        profile = { eval: topFrames(evalProfile, ROOT), scrape: topFrames(scrapeProfile, ROOT), files };
      }
      if (!last) now += req.intervalMs;
      const idle = req.intervalMs - (performance.now() - w0);
      if (!last && req.paced !== false && idle > 0) await new Promise((r) => setTimeout(r, idle));
    }

    const health = loops.map((l) => l.health());
    const ruleErrors: string[] = [];
    const selectorsWithoutData: string[] = [];
    const alerts: AgentCycleResult['alerts'] = {};
    for (const g of rules.groups()) {
      for (const r of g.rules) {
        if (r.health === 'err') ruleErrors.push(`${g.name}/${r.name}: ${r.lastError}`);
        const found: Array<{ text: string; matchers: readonly LabelMatcher[] }> = [];
        selectors(parseExpr(r.def.expr), found, r.def.expr);
        for (const s of found) if (storage.series(s.matchers).length === 0) selectorsWithoutData.push(`${s.text} (in ${r.name})`);
        if (r instanceof AlertingRule) {
          for (const a of r.activeAlerts()) {
            const entry = (alerts[r.name] ??= { pending: 0, firing: 0 });
            if (a.state === 'firing') entry.firing++;
            else if (a.state === 'pending') entry.pending++;
          }
        }
      }
    }
    sampleRss();
    const mem = process.memoryUsage();
    const heapSpacesMb: Record<string, number> = {};
    for (const sp of getHeapSpaceStatistics()) if (sp.space_size > 1 << 20) heapSpacesMb[sp.space_name] = Math.round(sp.space_size / (1 << 20));
    const gc = (globalThis as { gc?: () => void }).gc;
    let retained: AgentCycleResult['retained'];
    if (gc) {
      gc();
      const after = process.memoryUsage();
      // The store, engine and rules are still referenced below, so this is what the agent keeps.
      retained = { heapUsedBytes: after.heapUsed, rssBytes: after.rss };
    }
    const deployed = await runDeployed(loops, req.deployedIntervals ?? 3, req.intervalMs, (s) => {
      skew = s;
    }, clockNow, () => now);
    sampleRss();
    return {
      cycles,
      warm: req.warm,
      series: storage.seriesCount,
      samplesScraped: health.reduce((n, t) => n + t.lastSamples, 0),
      targetsDown: health.filter((t) => t.health !== 'up').map((t) => `${t.scrapeUrl}: ${t.lastError}`),
      ruleErrors,
      selectorsWithoutData,
      alerts,
      rssAtStartBytes,
      heapUsedAtStartBytes,
      rssPeakSampledBytes: rssPeak,
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
      rssEndBytes: mem.rss,
      heapUsedEndBytes: mem.heapUsed,
      heapSpacesMb,
      ...(retained ? { retained } : {}),
      ...(profile ? { profile } : {}),
      deployed,
      offsetsMs: loops.map((l) => l.offsetMs),
    };
  } finally {
    clearInterval(sampler);
  }
}

/**
 * The loops as the deployed agent runs them (ScrapeManager starts each with ScrapeLoop.start):
 * every target on its own timer at its hash offset in the interval, for `intervals` intervals of
 * real time. Records, per scrape, its due time on the target's grid, when it started and when its
 * samples were in the store. Rule evaluation does not run meanwhile.
 */
async function runDeployed(loops: ScrapeLoop[], intervals: number, intervalMs: number, setSkew: (s: number) => void, clockNow: () => number, simulated: () => number): Promise<DeployedScrape[]> {
  if (intervals <= 0) return [];
  setSkew(Math.max(0, simulated() + intervalMs - Date.now()));
  const out: DeployedScrape[] = [];
  const t0 = clockNow();
  const firstGrid = Math.floor(t0 / intervalMs) + 1;
  let pending = loops.length;
  let allDone!: () => void;
  const done = new Promise<void>((r) => {
    allDone = r;
  });
  for (const l of loops) {
    const orig = l.scrapeOnce.bind(l);
    let seen = 0;
    l.scrapeOnce = async (): Promise<void> => {
      const started = clockNow();
      // The grid time this tick is for (a timer may fire a little early or late).
      const due = Math.floor((started - l.offsetMs + 5) / intervalMs) * intervalMs + l.offsetMs;
      await orig();
      const end = clockNow();
      const interval = Math.floor(due / intervalMs) - firstGrid;
      if (interval >= 0 && interval < intervals) {
        out.push({ target: l.target.source.url, offsetMs: l.offsetMs, interval, startLateMs: started - due, endLateMs: end - due, durationMs: l.health().lastScrapeDurationSeconds * 1000 });
        if (++seen === intervals && --pending === 0) allDone();
      }
    };
    l.start();
  }
  const limit = setTimeout(allDone, (intervals + 3) * intervalMs);
  await done;
  clearTimeout(limit);
  await Promise.all(loops.map((l) => l.stop(false)));
  return out;
}

if (import.meta.main && process.send) {
  process.once('message', (msg: { request: AgentCycleRequest }) => {
    runAgentCycles(msg.request).then(
      (result) => process.send!({ result }, () => process.disconnect()),
      (err: unknown) => process.send!({ error: err instanceof Error ? err.stack ?? err.message : String(err) }, () => process.disconnect()),
    );
  });
}
