/**
 * Prometheus holding the same data as bench/tsdb-retention/run.ts: backfills the OpenMetrics
 * file that run.ts wrote (`--openmetrics FILE`, with FILE.json beside it) with
 * `promtool tsdb create-blocks-from openmetrics`, starts Prometheus (Debian's 2.42) on that
 * data directory with rules/*.yml and no scrape targets, then reports:
 * - bytes per sample on disk (the blocks' chunk files, and the whole block with its index);
 * - RSS (process_resident_memory_bytes) once ready, after the queries, after rule evaluations;
 * - the same queries as run.ts through its HTTP API, timed by Prometheus itself
 *   (stats=all: evalTotalTime) and by the client (wall time, JSON included), best of 3;
 * - rule evaluation: the sum over groups of prometheus_rule_group_last_duration_seconds, for 3
 *   evaluations (run.ts puts the data's end --end-offset-min past now, so Prometheus's
 *   wall-clock evaluations fall inside the data).
 *
 * Usage: node bench/tsdb-retention/compare-prometheus.ts FILE
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { freePort, startChild, waitFor, whichBinary } from '../../test/support/processes.ts';
import { QUERIES, RANGE_STEP_MS, queryLabel } from './queries.ts';
import { promMetrics, promRuleEvaluations } from './scrape-support.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const file = process.argv[2];
if (file === undefined) throw new Error('usage: compare-prometheus.ts OPENMETRICS_FILE');
const meta = JSON.parse(readFileSync(`${file}.json`, 'utf8')) as { start: number; end: number; intervalMs: number; series: number; samples: number; values: string };
const promtool = whichBinary('promtool');
const prometheus = whichBinary('prometheus');
if (promtool === null || prometheus === null) throw new Error('promtool and prometheus are needed (apt-get install prometheus)');
const MB = 1024 * 1024;
const mb = (b: number): string => `${(b / MB).toFixed(0)} MB`;

const dir = mkdtempSync(join(tmpdir(), 'fp-tsdb-retention-prom-'));
const data = join(dir, 'data');
const b0 = performance.now();
const bf = spawnSync(promtool, ['tsdb', 'create-blocks-from', 'openmetrics', file, data], { encoding: 'utf8', maxBuffer: 64 * MB });
if (bf.status !== 0) throw new Error(`promtool failed: ${bf.stderr}${bf.stdout}`);
const backfillS = (performance.now() - b0) / 1000;

function du(path: string, filter: (name: string) => boolean = () => true): number {
  let n = 0;
  for (const e of readdirSync(path, { withFileTypes: true })) {
    const p = join(path, e.name);
    if (e.isDirectory()) n += du(p, filter);
    else if (filter(p)) n += statSync(p).size;
  }
  return n;
}
const chunkBytes = du(data, (p) => p.includes('/chunks/'));
const blockBytes = du(data);
const blocks = readdirSync(data).filter((d) => /^[0-9A-Z]{26}$/.test(d)).length;

const port = await freePort();
const ruleDir = join(ROOT, 'rules');
writeFileSync(join(dir, 'prometheus.yml'), stringify({
  global: { evaluation_interval: `${meta.intervalMs}ms` },
  rule_files: readdirSync(ruleDir).filter((f) => f.endsWith('.yml')).map((f) => join(ruleDir, f)),
}));
const child = startChild(prometheus, [
  `--config.file=${join(dir, 'prometheus.yml')}`,
  `--storage.tsdb.path=${data}`,
  '--storage.tsdb.retention.time=30d',
  `--web.listen-address=127.0.0.1:${port}`,
]);
const base = `http://127.0.0.1:${port}`;
const metric = (name: string): Promise<Map<string, number>> => promMetrics(base, name);
const rss = async (): Promise<number> => (await metric('process_resident_memory_bytes')).get('') ?? NaN;
try {
  await waitFor('prometheus /-/ready', async () => {
    if (child.proc.exitCode !== null) throw new Error(`prometheus exited: ${child.output()}`);
    return (await fetch(`${base}/-/ready`).catch(() => null))?.ok === true;
  }, 120_000);
  const rssReady = await rss();

  const queryMs: Array<{ label: string; evalMs: number; wallMs: number; series: number }> = [];
  for (const q of QUERIES) {
    let evalMs = Infinity;
    let wallMs = Infinity;
    let series = 0;
    for (let i = 0; i < 3; i++) {
      const params = new URLSearchParams({ query: q.expr, stats: 'all' });
      if (q.range) {
        params.set('start', String(meta.start / 1000));
        params.set('end', String(meta.end / 1000));
        params.set('step', String(RANGE_STEP_MS / 1000));
      } else params.set('time', String(meta.end / 1000));
      const t0 = performance.now();
      const body = await (await fetch(`${base}/api/v1/${q.range ? 'query_range' : 'query'}?${params}`)).json() as { status: string; error?: string; data: { result: unknown[]; stats?: { timings?: { evalTotalTime?: number } } } };
      wallMs = Math.min(wallMs, performance.now() - t0);
      if (body.status !== 'success') throw new Error(`${q.expr}: ${body.error}`);
      evalMs = Math.min(evalMs, (body.data.stats?.timings?.evalTotalTime ?? NaN) * 1000);
      series = body.data.result.length;
    }
    queryMs.push({ label: queryLabel(q), evalMs, wallMs, series });
  }
  const rssAfterQueries = await rss();

  // Rule evaluations: 3 new evaluations of every group, their durations summed over groups.
  const evals = await promRuleEvaluations(base, 3, 120_000);
  const nowInData = Date.now() <= meta.end;
  const rssAfterRules = await rss();

  const out = [
    `| measure (Prometheus ${/version (\S+)/.exec(spawnSync(prometheus, ['--version'], { encoding: 'utf8' }).stdout + spawnSync(prometheus, ['--version'], { encoding: 'utf8' }).stderr)?.[1] ?? '?'}) | value |`,
    '|---|---:|',
    `| data | ${meta.series} series, ${(meta.samples / 1e6).toFixed(1)} M samples, values: ${meta.values} |`,
    `| backfill (promtool tsdb create-blocks-from openmetrics) | ${backfillS.toFixed(1)} s, ${blocks} block(s) |`,
    `| chunk files on disk | ${mb(chunkBytes)} = ${(chunkBytes / meta.samples).toFixed(2)} bytes per sample |`,
    `| whole blocks on disk (chunks + index + meta) | ${mb(blockBytes)} = ${(blockBytes / meta.samples).toFixed(2)} bytes per sample |`,
    `| RSS when ready / after the queries / after rule evaluations | ${mb(rssReady)} / ${mb(rssAfterQueries)} / ${mb(rssAfterRules)} |`,
    ...queryMs.map((q) => `| ${q.label} | ${q.evalMs.toFixed(0)} ms evalTotalTime (${q.wallMs.toFixed(0)} ms wall, ${q.series} series) |`),
    `| rule evaluation, sum over groups (3 evaluations${nowInData ? '' : '; NOTE: wall-clock time had passed the data\'s end'}) | ${evals.map((x) => x.toFixed(0)).join(' / ')} ms |`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
} finally {
  await child.stop();
  rmSync(dir, { recursive: true, force: true });
}
