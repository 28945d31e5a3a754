/**
 * The agent side of scrape-compare.ts, in its own process so that its RSS is the agent's alone.
 * It wires the agent's parts as agent/process/agent.ts does (config defaults from the schema,
 * MemoryStorage with the default 2 h retention, PromQLEngine, RuleManager over rules/*.yml, one
 * ScrapeLoop per static target through staticTargets, the shared ScrapeSlots bound) on the real
 * clock, and loads the agent's whole module graph (agent/process/main.ts) as the deployed process
 * does. Only the scrape schedule differs: instead of each loop's timer, the child scrapes every
 * target once per step, one after another, as fast as the parent lets it (the parent keeps it within a few steps of
 * Prometheus, so that both are served the same rendered bodies). The exporter puts an explicit
 * timestamp on every sample (virtual time, one interval per step), which the scraper keeps, as
 * Prometheus does with honor_timestamps. Rules are evaluated every interval of real time, at the
 * real time, as the deployed agent evaluates them.
 *
 * Protocol (IPC): parent -> { kind: 'start', ... }; child -> { kind: 'want', step } before each
 * step and parent -> { kind: 'go' }; child -> { kind: 'progress', ... } now and then;
 * child -> { kind: 'filled' }; parent -> { kind: 'measure', ... }; child -> { kind: 'result', ... }.
 */
import { DEFAULT_MAX_CONCURRENT_SCRAPES, ScrapeLoop, ScrapeSlots } from '../../agent/collect/scraper.ts';
import { staticTargets } from '../../agent/process/targets.ts';
import { benchAgent } from '../agent-eval/agent-setup.ts';
import '../../agent/process/main.ts';

export interface StartMessage {
  kind: 'start';
  scrape: Array<{ job: string; targets: string[] }>;
  ruleFiles: string[];
  intervalMs: number;
  steps: number;
}

export interface MeasureMessage {
  kind: 'measure';
  queries: Array<{ label: string; expr: string; range: boolean }>;
  startMs: number;
  endMs: number;
  stepMs: number;
  evaluations: number;
}

export interface AgentFigures {
  series: number;
  samples: number;
  chunkBytes: number;
  chunkCount: number;
  pageBytes: number;
  outOfOrder: number;
  failedScrapes: number;
  rssFilledBytes: number;
  rssPeakBytes: number;
  rssAtStartBytes: number;
  heapUsedBytes: number;
  arrayBuffersBytes: number;
  retainedHeapBytes: number | null;
  rssAfterGcBytes: number | null;
  fillS: number;
  fillCpuS: number;
  queries: Array<{ label: string; wallMs: number; cpuMs: number; series: number }>;
  evals: Array<{ wallMs: number; cpuMs: number }>;
  rssAfterMeasureBytes: number;
}

const send = (m: object): void => {
  process.send!(m);
};
let waiting: ((m: { kind: string }) => void) | null = null;
const next = <T>(kind: string): Promise<T> => new Promise((resolve) => {
  waiting = (m) => {
    if (m.kind === kind) {
      waiting = null;
      resolve(m as T);
    }
  };
});
process.on('message', (m: { kind: string }) => waiting?.(m));

const cpuMs = (since: NodeJS.CpuUsage): number => {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
};

async function main(): Promise<void> {
  const start = await next<StartMessage>('start');
  const rssAtStartBytes = process.memoryUsage.rss();
  let rssPeak = rssAtStartBytes;
  const sampler = setInterval(() => { rssPeak = Math.max(rssPeak, process.memoryUsage.rss()); }, 50);
  const { cfg, storage, engine, rules, scrapeMetrics: metrics } = await benchAgent({ intervalMs: start.intervalMs, scrape: start.scrape, ruleFiles: start.ruleFiles, source: 'bench/tsdb-retention' });
  const slots = new ScrapeSlots(DEFAULT_MAX_CONCURRENT_SCRAPES);
  const loops = staticTargets(cfg).map((t) => new ScrapeLoop(t, { pool: 'static', appender: storage, metrics, slots }));
  // The retention timer of agent/process/agent.ts, on the real clock.
  const retention = setInterval(() => storage.applyRetention(Date.now()), 60_000);
  let failedScrapes = 0;
  let lastEval = Date.now();
  const f0 = performance.now();
  const c0 = process.cpuUsage();
  for (let step = 0; step < start.steps; step++) {
    send({ kind: 'want', step });
    await next('go');
    // One target after another, as the deployed loops' offsets spread them over the interval
    // (all at once, a cold round of 100k new series outlasts the scrape timeout under load).
    for (const l of loops) {
      await l.scrapeOnce();
      if (l.health().health !== 'up') failedScrapes++;
    }
    if (Date.now() - lastEval >= start.intervalMs) {
      lastEval = Date.now();
      await rules.evaluateAll(lastEval);
    }
    if (step % 20 === 0 || step === start.steps - 1) send({ kind: 'progress', step, rss: process.memoryUsage.rss(), samples: storage.stats().samples });
  }
  const fillS = (performance.now() - f0) / 1000;
  const fillCpuS = cpuMs(c0) / 1000;
  send({ kind: 'filled' });

  const measure = await next<MeasureMessage>('measure');
  const mem = process.memoryUsage();
  const st = storage.stats();
  const queries: AgentFigures['queries'] = [];
  // Best of 3, as Prometheus's side is timed.
  for (const q of measure.queries) {
    let best = { label: q.label, wallMs: Infinity, cpuMs: Infinity, series: -1 };
    for (let i = 0; i < 3; i++) {
      const w0 = performance.now();
      const q0 = process.cpuUsage();
      const r = q.range ? engine.rangeQuerySync(q.expr, measure.startMs, measure.endMs, measure.stepMs) : engine.instantQuerySync(q.expr, measure.endMs);
      const cpu = cpuMs(q0);
      const wallMs = performance.now() - w0;
      if (wallMs < best.wallMs) best = { label: q.label, wallMs, cpuMs: cpu, series: Array.isArray(r.data.result) ? r.data.result.length : -1 };
    }
    queries.push(best);
  }
  const evals: AgentFigures['evals'] = [];
  for (let i = 0; i < measure.evaluations; i++) {
    const wait = lastEval + start.intervalMs - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    lastEval = Date.now();
    const w0 = performance.now();
    const e0 = process.cpuUsage();
    await rules.evaluateAll(lastEval);
    evals.push({ wallMs: performance.now() - w0, cpuMs: cpuMs(e0) });
  }
  const rssAfterMeasureBytes = process.memoryUsage.rss();
  rssPeak = Math.max(rssPeak, rssAfterMeasureBytes);
  const gc = (globalThis as { gc?: () => void }).gc;
  let retainedHeapBytes: number | null = null;
  let rssAfterGcBytes: number | null = null;
  if (gc) {
    gc();
    retainedHeapBytes = process.memoryUsage().heapUsed;
    rssAfterGcBytes = process.memoryUsage.rss();
  }
  clearInterval(sampler);
  clearInterval(retention);
  const figures: AgentFigures = {
    series: st.series,
    samples: st.samples,
    chunkBytes: st.bytes,
    chunkCount: st.chunkCount,
    pageBytes: st.pageBytes,
    outOfOrder: st.outOfOrderSamples,
    failedScrapes,
    rssFilledBytes: mem.rss,
    rssPeakBytes: rssPeak,
    rssAtStartBytes,
    heapUsedBytes: mem.heapUsed,
    arrayBuffersBytes: mem.arrayBuffers,
    retainedHeapBytes,
    rssAfterGcBytes,
    fillS,
    fillCpuS,
    queries,
    evals,
    rssAfterMeasureBytes,
  };
  send({ kind: 'result', figures });
  await Promise.all(loops.map((l) => l.stop(false)));
  process.disconnect();
}

main().catch((err: unknown) => {
  send({ kind: 'error', message: err instanceof Error ? err.stack ?? err.message : String(err) });
  process.exitCode = 1;
  process.disconnect();
});
