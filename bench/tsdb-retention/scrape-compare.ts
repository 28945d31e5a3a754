/**
 * The agent and Prometheus 2.42 (Debian's binary) each holding the same 2 h of the synthetic
 * Flink job (64 x 128 = about 100k series at a 5 s interval), filled by scraping at a compressed
 * interval, both sides in the same run (issue 16). A promtool backfill at this scale would need
 * an OpenMetrics file of ~36 GB (compare-prometheus.ts does it at 8 x 16).
 *
 * Method:
 * - An exporter in this process serves the synthetic job's targets (one port per target and per
 *   scraper). Each answered scrape of a target is its next step: the job's values for that tick,
 *   every sample with an explicit timestamp in virtual time, one interval (5 s) per step. A step
 *   counts as served once its body is written; a cut-off request is served again.
 * - Prometheus scrapes it at a short real interval (--prom-interval, default 1 s;
 *   honor_timestamps is true by default) and evaluates rules/*.yml every 5 s; the agent child
 *   (scrape-agent.ts) scrapes every target once per step, kept within --window steps of
 *   Prometheus so both are served the same rendered bodies.
 * - Prometheus accepts a scraped sample only within [its head's newest time - half the block
 *   range, now + 10 min]: older is out of bounds for the head, and the scrape loop refuses
 *   samples over 10 min in the future (scrape.go, maxAheadTime). Its report series (up,
 *   scrape_duration_seconds, ...) and rule outputs carry the real time, so the head's newest time
 *   is never below now. With the default 2 h blocks the window is [now - 1 h, now + 10 min], and
 *   2 h of virtual time cannot be scraped in less than 50 min of real time. So Prometheus runs
 *   with --storage.tsdb.min-block-duration=4h (a hidden flag "for use in testing"): the window
 *   becomes [now - 2 h, now + 10 min]. That changes when the head is compacted (past 6 h of data
 *   instead of 3 h: it holds these 2 h in both cases) and where chunks are cut at block
 *   boundaries (every 4 h instead of 2 h), nothing else.
 * - Virtual time ends --fill-minutes (default 45) after the start; a step more than 9 min ahead
 *   of the real clock waits (the exporter answers empty). The rules are evaluated at the real
 *   time, which should fall inside the data when both sides are measured (the report says if
 *   it did not).
 * - When every target has served every step, the exporter answers with empty bodies (series
 *   with explicit timestamps get no stale markers), and the two are measured one after the
 *   other: RSS (Prometheus: process_resident_memory_bytes and VmHWM; agent: rss and its peak),
 *   the queries of queries.ts over the whole virtual range (Prometheus: evalTotalTime, best of
 *   3), 3 rule evaluations (Prometheus: the sum over groups of
 *   prometheus_rule_group_last_duration_seconds; agent: wall and CPU of evaluateAll), and bytes
 *   per sample (agent: the store's accounting; Prometheus: a TSDB snapshot of its head, the
 *   snapshot block's chunk files over its meta.json numSamples).
 *
 * Usage: nice -n 5 node bench/tsdb-retention/scrape-compare.ts [--vertices 64] [--subtasks 128]
 *          [--hours 2] [--interval 5000] [--prom-interval 1000] [--window 6]
 *          [--fill-minutes 45]
 */
import { fork } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { syntheticJob } from '../agent-eval/synthetic-job.ts';
import { AGENT_NODE_FLAGS, agentEnv } from '../agent-eval/bench.ts';
import { freePort, startChild, waitFor, whichBinary } from '../../test/support/processes.ts';
import { QUERIES, RANGE_STEP_MS, queryLabel } from './queries.ts';
import type { AgentFigures, MeasureMessage, StartMessage } from './scrape-agent.ts';
import { promMetrics, promRuleEvaluations, until } from './scrape-support.ts';
import { Exporter } from './scrape-exporter.ts';
import { flags } from '../agent-eval/args.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const argv = process.argv.slice(2);
const { num } = flags(argv);
const vertices = num('--vertices', 64);
const subtasks = num('--subtasks', 128);
const hours = num('--hours', 2);
const intervalMs = num('--interval', 5000);
const promIntervalMs = num('--prom-interval', 1000);
const windowSteps = num('--window', 6);
const fillMinutes = num('--fill-minutes', 45);
const MB = 1024 * 1024;
const mb = (b: number): string => `${(b / MB).toFixed(0)} MB`;
const log = (s: string): void => { process.stderr.write(`scrape-compare: ${s}\n`); };
const load = (): string => loadavg().map((x) => x.toFixed(1)).join(' ');

const prometheus = whichBinary('prometheus');
if (prometheus === null) throw new Error('prometheus is needed (apt-get install prometheus)');
const job = syntheticJob({ vertices, subtasks, seed: 1, intervalMs });
const steps = Math.round(hours * 3600_000 / intervalMs);
const t0Real = Date.now();
const virtualStart = Math.ceil((t0Real + fillMinutes * 60_000 - hours * 3600_000) / intervalMs) * intervalMs;
if (virtualStart < t0Real - 2 * 3600_000 + 60_000) throw new Error('--hours is at most 2 (the window Prometheus accepts behind the real time)');
const virtualEnd = virtualStart + (steps - 1) * intervalMs;
const seriesPerStep = job.targets.reduce((a, t) => a + t.seriesCount, 0);
log(`${job.targets.length} targets, ${seriesPerStep} series x ${steps} steps = ${(seriesPerStep * steps / 1e6).toFixed(1)} M samples; virtual time ${new Date(virtualStart).toISOString()} .. ${new Date(virtualEnd).toISOString()}; load ${load()}`);

// ---- the exporter ----
const PROM = 0;
const AGENT = 1;
const exporter = await Exporter.start({ vertices, subtasks, intervalMs, virtualStart, targets: job.targets.length, steps, ahead: windowSteps + 2, maxAheadMs: 9 * 60_000 });
const addresses = exporter.addresses;
const groups = (who: number): Array<{ job: string; targets: string[] }> => {
  const byJob = new Map<string, string[]>();
  job.targets.forEach((t, j) => { byJob.set(t.job, [...(byJob.get(t.job) ?? []), addresses[who]![j]!]); });
  return [...byJob].map(([name, targets]) => ({ job: name, targets }));
};
const promStep = (): number => exporter.step(PROM);
const agentStep = (): number => exporter.step(AGENT);

// ---- Prometheus ----
const ruleDir = join(ROOT, 'rules');
const ruleFiles = readdirSync(ruleDir).filter((f) => f.endsWith('.yml')).map((f) => join(ruleDir, f));
const dir = mkdtempSync(join(tmpdir(), 'fp-scrape-compare-'));
const data = join(dir, 'data');
const port = await freePort();
writeFileSync(join(dir, 'prometheus.yml'), stringify({
  global: { scrape_interval: `${promIntervalMs}ms`, scrape_timeout: `${promIntervalMs}ms`, evaluation_interval: `${intervalMs}ms` },
  rule_files: ruleFiles,
  scrape_configs: groups(PROM).map((g) => ({ job_name: g.job, static_configs: [{ targets: g.targets }] })),
}));
const prom = startChild(prometheus, [
  `--config.file=${join(dir, 'prometheus.yml')}`,
  `--storage.tsdb.path=${data}`,
  '--storage.tsdb.min-block-duration=4h',
  '--web.enable-admin-api',
  `--web.listen-address=127.0.0.1:${port}`,
]);
const base = `http://127.0.0.1:${port}`;
const metric = (name: string): Promise<Map<string, number>> => promMetrics(base, name);
const one = async (name: string): Promise<number> => [...(await metric(name)).values()].reduce((a, b) => a + b, 0);
const promPid = prom.proc.pid!;
const vmHwm = (pid: number): number => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) * 1024;

// ---- the agent child ----
const child = fork(join(import.meta.dirname, 'scrape-agent.ts'), [], { execArgv: ['--expose-gc', ...AGENT_NODE_FLAGS], env: agentEnv(), stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
const cleanup = (): void => {
  if (child.exitCode === null) child.kill('SIGKILL');
  prom.proc.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
};
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => { cleanup(); process.exit(130); });
let agentProgress = { step: 0, rss: 0, samples: 0 };
let agentFilled = false;
let agentResult: AgentFigures | null = null;
let agentError: string | null = null;
let wanted: number | null = null;
const grant = (): void => {
  if (wanted !== null && (wanted <= promStep() + windowSteps || promStep() >= steps)) {
    wanted = null;
    child.send({ kind: 'go' });
  }
};
exporter.onServed = grant;
child.on('message', (m: { kind: string; step?: number; rss?: number; samples?: number; figures?: AgentFigures; message?: string }) => {
  if (m.kind === 'want') {
    wanted = m.step!;
    grant();
  } else if (m.kind === 'progress') agentProgress = { step: m.step!, rss: m.rss!, samples: m.samples! };
  else if (m.kind === 'filled') agentFilled = true;
  else if (m.kind === 'result') agentResult = m.figures!;
  else if (m.kind === 'error') agentError = m.message!;
});
const agentPid = child.pid!;
let agentHwm = 0;

try {
  await waitFor('prometheus /-/ready', async () => {
    if (prom.proc.exitCode !== null) throw new Error(`prometheus exited: ${prom.output()}`);
    return (await fetch(`${base}/-/ready`).catch(() => null))?.ok === true;
  }, 120_000);
  const start: StartMessage = { kind: 'start', scrape: groups(AGENT), ruleFiles, intervalMs, steps };
  child.send(start);
  const fillStart = Date.now();
  let lastLog = 0;
  let promRssPeak = 0;
  // Fill: until every target served every step to both, and the agent child is done.
  await until('both sides filled', async () => {
    if (agentError !== null) throw new Error(`agent child: ${agentError}`);
    if (prom.proc.exitCode !== null) throw new Error(`prometheus exited: ${prom.output()}`);
    grant();
    if (Date.now() - lastLog >= 15_000) {
      lastLog = Date.now();
      const rss = await one('process_resident_memory_bytes').catch(() => NaN);
      promRssPeak = Math.max(promRssPeak, rss);
      try { agentHwm = Math.max(agentHwm, vmHwm(agentPid)); } catch { /* exited */ }
      log(`${((Date.now() - fillStart) / 1000).toFixed(0)} s: Prometheus step ${promStep()}/${steps} (RSS ${mb(rss)}), agent step ${agentStep()}/${steps} (RSS ${mb(agentProgress.rss)}, ${(agentProgress.samples / 1e6).toFixed(1)} M samples), renders ${exporter.renders}, cut off ${exporter.aborted()}, held ${exporter.held}, load ${load()}`);
    }
    return promStep() >= steps && agentFilled;
  }, 6 * 3600_000);
  const fillS = (Date.now() - fillStart) / 1000;
  // Let Prometheus append its last scrapes.
  await new Promise((r) => setTimeout(r, 3 * promIntervalMs + 2000));
  agentHwm = Math.max(agentHwm, vmHwm(agentPid));
  log(`filled in ${fillS.toFixed(0)} s; measuring the agent (load ${load()})`);
  const measure: MeasureMessage = {
    kind: 'measure',
    queries: QUERIES.map((q) => ({ ...q, label: queryLabel(q) })),
    startMs: virtualStart,
    endMs: virtualEnd,
    stepMs: RANGE_STEP_MS,
    evaluations: 3,
  };
  child.send(measure);
  await until('the agent figures', () => {
    if (agentError !== null) throw new Error(`agent child: ${agentError}`);
    return agentResult !== null;
  }, 1800_000);
  const agent = agentResult!;
  agentHwm = Math.max(agentHwm, agent.rssPeakBytes);
  const loadAgent = load();

  log(`measuring Prometheus (load ${load()})`);
  const promRss = await one('process_resident_memory_bytes');
  const promHwm = vmHwm(promPid);
  const head = {
    series: await one('prometheus_tsdb_head_series'),
    chunks: await one('prometheus_tsdb_head_chunks'),
    appended: await one('prometheus_tsdb_head_samples_appended_total'),
    heapInuse: await one('go_memstats_heap_inuse_bytes'),
    outOfBounds: await one('prometheus_target_scrapes_sample_out_of_bounds_total'),
    outOfOrder: await one('prometheus_target_scrapes_sample_out_of_order_total'),
    duplicate: await one('prometheus_target_scrapes_sample_duplicate_timestamp_total'),
  };
  const du = (path: string): number => {
    let n = 0;
    for (const e of readdirSync(path, { withFileTypes: true })) n += e.isDirectory() ? du(join(path, e.name)) : statSync(join(path, e.name)).size;
    return n;
  };
  const headChunkFiles = du(join(data, 'chunks_head'));
  const promQueries: Array<{ label: string; evalMs: number; series: number }> = [];
  for (const q of QUERIES) {
    let evalMs = Infinity;
    let series = 0;
    for (let i = 0; i < 3; i++) {
      const params = new URLSearchParams({ query: q.expr, stats: 'all' });
      if (q.range) {
        params.set('start', String(virtualStart / 1000));
        params.set('end', String(virtualEnd / 1000));
        params.set('step', String(RANGE_STEP_MS / 1000));
      } else params.set('time', String(virtualEnd / 1000));
      const body = await (await fetch(`${base}/api/v1/${q.range ? 'query_range' : 'query'}?${params}`, { signal: AbortSignal.timeout(600_000) })).json() as { status: string; error?: string; data: { result: unknown[]; stats?: { timings?: { evalTotalTime?: number } } } };
      if (body.status !== 'success') throw new Error(`${q.expr}: ${body.error}`);
      evalMs = Math.min(evalMs, (body.data.stats?.timings?.evalTotalTime ?? NaN) * 1000);
      series = body.data.result.length;
    }
    promQueries.push({ label: queryLabel(q), evalMs, series });
  }
  // Rule evaluations: the three after the queries, summed over groups.
  const promEvals = await promRuleEvaluations(base, 3, 600_000);
  const promRssAfter = await one('process_resident_memory_bytes');
  const evalInData = Date.now() <= virtualEnd + 60_000;
  const loadProm = load();
  // Bytes per sample: a snapshot persists the head as a block.
  const snap = await (await fetch(`${base}/api/v1/admin/tsdb/snapshot`, { method: 'POST', signal: AbortSignal.timeout(1800_000) })).json() as { data: { name: string } };
  const snapDir = join(data, 'snapshots', snap.data.name);
  let snapChunks = 0;
  let snapBlocks = 0;
  let snapSamples = 0;
  let snapSeries = 0;
  for (const b of readdirSync(snapDir)) {
    const meta = JSON.parse(readFileSync(join(snapDir, b, 'meta.json'), 'utf8')) as { stats: { numSamples: number; numSeries: number } };
    snapSamples += meta.stats.numSamples;
    snapSeries += meta.stats.numSeries;
    snapChunks += du(join(snapDir, b, 'chunks'));
    snapBlocks += du(join(snapDir, b));
  }

  const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)} x`;
  const agentEvalWall = agent.evals.map((e) => e.wallMs);
  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const out = [
    `${vertices} x ${subtasks}: ${seriesPerStep} series x ${steps} steps of ${intervalMs} ms (${hours} h); Prometheus scraping every ${promIntervalMs} ms; fill ${fillS.toFixed(0)} s (agent's own ${agent.fillS.toFixed(0)} s, ${agent.fillCpuS.toFixed(0)} s CPU); load at the agent's / Prometheus's measurement ${loadAgent} / ${loadProm}`,
    '',
    '| measure | agent | Prometheus | agent / Prometheus |',
    '|---|---:|---:|---:|',
    `| series / samples held | ${agent.series} / ${(agent.samples / 1e6).toFixed(1)} M | ${head.series} / ${(head.appended / 1e6).toFixed(1)} M appended (snapshot: ${snapSeries} / ${(snapSamples / 1e6).toFixed(1)} M) | |`,
    `| samples refused (agent: out of order; Prometheus: out of bounds / out of order / duplicate) | ${agent.outOfOrder} | ${head.outOfBounds} / ${head.outOfOrder} / ${head.duplicate} | |`,
    `| RSS after the fill | ${mb(agent.rssFilledBytes)} | ${mb(promRss)} | ${ratio(agent.rssFilledBytes, promRss)} |`,
    `| RSS after queries and rules | ${mb(agent.rssAfterMeasureBytes)} | ${mb(promRssAfter)} | ${ratio(agent.rssAfterMeasureBytes, promRssAfter)} |`,
    `| peak RSS (VmHWM) | ${mb(agentHwm)} | ${mb(promHwm)} | ${ratio(agentHwm, promHwm)} |`,
    `| agent: RSS at start / after a full GC, heap after it; Prometheus: Go heap in use | ${mb(agent.rssAtStartBytes)} / ${agent.rssAfterGcBytes === null ? '-' : mb(agent.rssAfterGcBytes)}, ${agent.retainedHeapBytes === null ? '-' : mb(agent.retainedHeapBytes)} | ${mb(head.heapInuse)} | |`,
    `| bytes per sample (agent: store accounting; Prometheus: snapshot block's chunk files) | ${(agent.chunkBytes / agent.samples).toFixed(2)} | ${(snapChunks / snapSamples).toFixed(2)} | ${ratio(agent.chunkBytes / agent.samples, snapChunks / snapSamples)} |`,
    `| (agent: chunk pages held; Prometheus: whole snapshot block with index / mmapped head chunk files) | ${(agent.pageBytes / agent.samples).toFixed(2)} | ${(snapBlocks / snapSamples).toFixed(2)} / ${mb(headChunkFiles)} | |`,
    ...agent.queries.map((q, i) => `| ${q.label} (agent wall / CPU, best of 3; Prometheus evalTotalTime, best of 3) | ${q.wallMs.toFixed(0)} / ${q.cpuMs.toFixed(0)} ms (${q.series} series) | ${promQueries[i]!.evalMs.toFixed(0)} ms (${promQueries[i]!.series} series) | ${ratio(q.wallMs, promQueries[i]!.evalMs)} |`),
    `| rule evaluation, every group of rules/*.yml, 3 evaluations (agent wall / CPU; Prometheus: sum of group durations) | ${agentEvalWall.map((x) => x.toFixed(0)).join(' / ')} ms / ${agent.evals.map((e) => e.cpuMs.toFixed(0)).join(' / ')} ms | ${promEvals.map((x) => x.toFixed(0)).join(' / ')} ms${evalInData ? '' : ' (NOTE: the real time had passed the data\'s end)'} | median wall ${ratio(med(agentEvalWall), med(promEvals))} |`,
    `| agent scrapes failed during the fill; exporter requests cut off | ${agent.failedScrapes} | ${exporter.aborted()} | |`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
} finally {
  await exporter.close();
  if (child.exitCode === null) child.kill('SIGKILL');
  await prom.stop();
  rmSync(dir, { recursive: true, force: true });
}
