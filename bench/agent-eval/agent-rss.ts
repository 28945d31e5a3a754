/**
 * The agent's peak RSS with about a minute of data (issue 16: <= 300 MB on 5 runs out of 5), the
 * agent side of run.ts alone: the synthetic job served once, then `--runs` fresh agent child
 * processes one after another, each doing `--warm` + `--measured` scrape-and-evaluate cycles one
 * interval apart in real time (12 x 5 s = 1 minute of samples by default) and then, unless
 * `--deployed 0`, a few intervals with its loops at their offsets as deployed. Prometheus is not
 * started (run.ts compares with it); every run's figures are printed, with the phases' memory.
 *
 * Usage: node bench/agent-eval/agent-rss.ts [--vertices 64] [--subtasks 128] [--interval 5000]
 *          [--warm 2] [--measured 10] [--deployed 2] [--runs 5] [--time-limit 600]
 *          [--agent-node-flags "--flag ..."]  (extra Node flags for the agent child, experiments)
 * Exit code 0 when every run's peak is within the target, 1 when one is not, 2 on error.
 */
import { killEverythingNow, median, runAgentChild, RULE_FILES } from './bench.ts';
import { RSS_TARGET_BYTES } from './report.ts';
import { serveTargets } from './server.ts';
import { syntheticJob } from './synthetic-job.ts';
import { flags } from './args.ts';

const argv = process.argv.slice(2);
const { num, agentNodeFlags } = flags(argv);
const vertices = num('--vertices', 64, 0);
const subtasks = num('--subtasks', 128, 0);
const intervalMs = num('--interval', 5_000, 0);
const warm = num('--warm', 2, 0);
const measured = num('--measured', 10, 0);
const deployed = num('--deployed', 2, 0);
const runs = num('--runs', 5, 0);
const extraFlags = agentNodeFlags();
const deadline = Date.now() + num('--time-limit', 600, 0) * 1000;
process.on('exit', killEverythingNow);
setTimeout(() => {
  process.stderr.write('agent-rss: time limit reached\n');
  killEverythingNow();
  process.exit(2);
}, deadline - Date.now() + 5_000).unref();

const mb = (b: number): string => `${(b / 1024 / 1024).toFixed(0)} MB`;
const job = syntheticJob({ vertices, subtasks, intervalMs, seed: 1 });
const servers = await serveTargets(job.targets);
let over = 0;
try {
  const scrape = (['flink', 'flowpilot'] as const).map((j) => ({ job: j, targets: servers.served.filter((s) => s.target.job === j).map((s) => s.address) }));
  process.stdout.write(`agent-rss: ${vertices} x ${subtasks}, ${job.seriesCount} series on ${job.targets.length} targets, interval ${intervalMs} ms, ${warm} + ${measured} cycles (${(((warm + measured) * intervalMs) / 1000).toFixed(0)} s of samples) then ${deployed} interval(s) as deployed; ${runs} run(s)${extraFlags.length ? `; extra agent Node flags ${extraFlags.join(' ')}` : ''}\n`);
  process.stdout.write('| run | peak RSS (max of getrusage maxRSS and 25 ms samples) | RSS at start (modules loaded) | RSS at the end | heap used at the end | heap after a full GC (store, rules, scrape state kept) | tsdb series | median cycle CPU (scrape + eval) |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n');
  for (let i = 1; i <= runs; i++) {
    const r = await runAgentChild({ scrape, ruleFiles: RULE_FILES, intervalMs, warm, measured, paced: true, deployedIntervals: deployed }, deadline - 2_000, extraFlags);
    const peak = Math.max(r.maxRssBytes, r.rssPeakSampledBytes);
    if (peak > RSS_TARGET_BYTES) over++;
    const m = (x: NodeJS.MemoryUsage): string => `rss ${mb(x.rss)} heapTotal ${mb(x.heapTotal)} heapUsed ${mb(x.heapUsed)} external ${mb(x.external)} arrayBuffers ${mb(x.arrayBuffers)}`;
    for (const [k, c] of r.cycles.entries()) process.stderr.write(`agent-rss: run ${i} cycle ${k} ${c.scrapeMode}: after scrape ${m(c.memAfterScrape)}; after eval ${m(c.memAfterEval)}\n`);
    process.stdout.write(`| ${i} | ${mb(peak)} | ${mb(r.rssAtStartBytes)} | ${mb(r.rssEndBytes)} | ${mb(r.heapUsedEndBytes)} | ${r.retained ? mb(r.retained.heapUsedBytes) : 'n/a'} | ${r.series} | ${median(r.cycles.slice(r.warm).map((c) => c.scrapeCpuMs + c.evalCpuMs)).toFixed(0)} ms |\n`);
  }
  process.stdout.write(`${runs - over} of ${runs} runs within ${mb(RSS_TARGET_BYTES)}\n`);
  process.exitCode = over === 0 ? 0 : 1;
} catch (err) {
  process.stderr.write(`agent-rss: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 2;
} finally {
  await servers.close();
  killEverythingNow();
}
process.exit(process.exitCode ?? 0);
