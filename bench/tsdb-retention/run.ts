/**
 * The agent's store at its full retention (issue 16): fills a MemoryStorage with `--hours` (2) of
 * the agent-eval synthetic Flink job (64 x 128 = about 100k series) at a `--interval` (5 s)
 * scrape interval, synthesized quickly rather than in real time, then reports bytes per sample in
 * the store, heap and RSS, and the time of queries and of one rule evaluation over the full range.
 *
 * The series and their first values come from the synthetic job's own exposition (three ticks
 * parsed with the agent's parser: label sets, family types, per-tick increments); later values
 * follow each series' kind: a constant stays constant, a counter (growing over the three ticks) grows by its per-tick increment
 * times a random factor in [0.8, 1.2), a gauge moves around its first value by up to its
 * per-tick change. Samples are appended in time order through series references, one tick of
 * every series after another, as scrapes append them.
 *
 * With `--values random`, every sample is instead a uniform random double in [0, 1): the
 * incompressible case (full 52-bit mantissa changes), which no XOR chunk shrinks.
 *
 * Usage: node --expose-gc bench/tsdb-retention/run.ts [--hours 2] [--interval 5000]
 *          [--vertices 64] [--subtasks 128] [--seed 1] [--values flink|random]
 *          [--openmetrics FILE]  (also writes the same samples as OpenMetrics text, for
 *          `promtool tsdb create-blocks-from openmetrics`; see compare-prometheus.ts)
 */
import { resolve } from 'node:path';
import { readdirSync } from 'node:fs';
import { MemoryStorage, labelsFromRecord, type SeriesRef } from '../../agent/tsdb/index.ts';
import { PromQLEngine } from '../../agent/promql/index.ts';
import { RuleManager, engineQueryFunc } from '../../agent/rules/index.ts';
import { parsePrometheusText } from '../../agent/collect/prometheus-text.ts';
import { syntheticJob } from '../agent-eval/synthetic-job.ts';
import { QUERIES, RANGE_STEP_MS, queryLabel } from './queries.ts';
import { flags } from '../agent-eval/args.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const argv = process.argv.slice(2);
const { num, arg } = flags(argv);
const hours = num('--hours', 2);
const intervalMs = num('--interval', 5000);
const vertices = num('--vertices', 64);
const subtasks = num('--subtasks', 128);
const seed = num('--seed', 1);
const str = (name: string, def: string): string => arg(name) ?? def;
const valuesMode = str('--values', 'flink');
if (valuesMode !== 'flink' && valuesMode !== 'random') throw new Error('--values is flink or random');
const omPath = str('--openmetrics', '');
/** Minutes past now at which the data ends: Prometheus evaluates its rules at wall-clock time, which must fall inside the data. */
const endOffsetMin = Number(str('--end-offset-min', '0'));
const gc = (globalThis as { gc?: () => void }).gc;
const MB = 1024 * 1024;
const mb = (b: number): string => `${(b / MB).toFixed(0)} MB`;

const rssAtStart = process.memoryUsage().rss;
const job = syntheticJob({ vertices, subtasks, seed, intervalMs });
const retentionMs = hours * 3600_000;
const storage = new MemoryStorage({ retentionMs });

// Kinds: 0 constant, 1 counter, 2 gauge (integer-valued when its first values are integers).
const refs: SeriesRef[] = [];
const value: number[] = [];
const step: number[] = [];
const kind: number[] = [];
const integral: boolean[] = [];
for (const target of job.targets) {
  const ticks = [0, 1, 2].map((k) => parsePrometheusText(target.render(k)));
  const extra = { job: target.job, instance: target.name };
  ticks[0]!.samples.forEach((s, i) => {
    const ref = storage.ref(labelsFromRecord({ ...s.labels, ...extra }));
    if (ref === null) throw new Error('series limit');
    const v0 = s.value;
    const v1 = ticks[1]!.samples[i]!.value;
    const v2 = ticks[2]!.samples[i]!.value;
    refs.push(ref);
    value.push(v0);
    integral.push(Number.isInteger(v0) && Number.isInteger(v1));
    if (v0 === v1 && v1 === v2) {
      kind.push(0);
      step.push(0);
    } else if (v0 < v1 && v1 < v2) {
      kind.push(1);
      step.push(Math.max(v1 - v0, v2 - v1));
    } else {
      kind.push(2);
      step.push(Math.abs(v1 - v0) + Math.abs(v2 - v1));
    }
  });
}
const n = refs.length;
const ticks = Math.round(retentionMs / intervalMs);
const base = value.slice();
let rnd = seed >>> 0;
const random = (): number => {
  rnd = (Math.imul(rnd, 1664525) + 1013904223) >>> 0;
  return rnd / 4294967296;
};
const end = Math.floor(Date.now() / intervalMs) * intervalMs + Math.round(endOffsetMin * 60_000 / intervalMs) * intervalMs;
const start = end - (ticks - 1) * intervalMs;
process.stderr.write(`tsdb-retention: ${n} series x ${ticks} samples (${hours} h at ${intervalMs} ms), kinds: ${kind.filter((k) => k === 0).length} constant, ${kind.filter((k) => k === 1).length} counters, ${kind.filter((k) => k === 2).length} gauges\n`);

gc?.();
const rssBeforeFill = process.memoryUsage().rss;
const om = omPath === '' ? null : openMetricsWriter(omPath, refs);
const f0 = performance.now();
let peakRss = 0;
for (let k = 0; k < ticks; k++) {
  const t = start + k * intervalMs;
  for (let i = 0; i < n; i++) {
    const kd = kind[i]!;
    let v = value[i]!;
    if (valuesMode === 'random') v = random() + random() / 4294967296; // 52 random bits
    else if (kd === 1) {
      const d = step[i]! * (0.8 + 0.4 * random());
      v += integral[i] ? Math.round(d) : d;
      value[i] = v;
    } else if (kd === 2) {
      const d = base[i]! + step[i]! * (random() - 0.5);
      v = integral[i] ? Math.round(d) : d;
    }
    storage.appendRef(refs[i]!, t, v);
    om?.sample(i, t, v);
  }
  if (k % 120 === 0) {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
    process.stderr.write(`tsdb-retention: ${k}/${ticks} ticks, RSS ${mb(process.memoryUsage.rss())}\n`);
  }
}
const fillS = (performance.now() - f0) / 1000;
if (om !== null) {
  await om.close();
  const { writeFileSync } = await import('node:fs');
  writeFileSync(`${omPath}.json`, JSON.stringify({ start, end, intervalMs, series: n, samples: storage.stats().samples, values: valuesMode }));
}
peakRss = Math.max(peakRss, process.memoryUsage.rss());
gc?.();
const mem = process.memoryUsage();
const st = storage.stats();
const samples = st.samples;
const sampleBytes = st.bytes;

// Chunk bytes per kind of series (the store's accounting, series by series).
const kindBytes = [0, 0, 0];
const kindSamples = [0, 0, 0];
for (let i = 0; i < n; i++) {
  kindBytes[kind[i]!]! += refs[i]!.sampleBytes;
  kindSamples[kind[i]!]! += refs[i]!.length;
}
const perKind = (k: number): string => `${(kindBytes[k]! / Math.max(1, kindSamples[k]!)).toFixed(2)}`;

const engine = new PromQLEngine(storage, {});
const timed = (f: () => unknown): { wall: number; cpu: number } => {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  f();
  const c = process.cpuUsage(c0);
  return { wall: performance.now() - t0, cpu: (c.user + c.system) / 1000 };
};
const queries: Array<[string, () => unknown]> = QUERIES.map((q) => [queryLabel(q), q.range
  ? () => engine.rangeQuerySync(q.expr, start, end, RANGE_STEP_MS)
  : () => engine.instantQuerySync(q.expr, end)]);
const queryMs = queries.map(([q, f]) => ({ q, ...timed(f) }));

const ruleDir = join(ROOT, 'rules');
const rules = new RuleManager({ files: readdirSync(ruleDir).filter((f) => f.endsWith('.yml')).map((f) => join(ruleDir, f)), query: engineQueryFunc(engine), appender: storage, evaluationIntervalMs: intervalMs });
const loaded = await rules.reload();
if (!loaded.ok) throw new Error('rule files have problems');
const evalMs: number[] = [];
const evalCpuMs: number[] = [];
const profile = argv.includes('--profile-rules') ? await startProfile() : null;
for (let i = 0; i < 3; i++) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  await rules.evaluateAll(end + i * intervalMs);
  const c = process.cpuUsage(c0);
  evalCpuMs.push((c.user + c.system) / 1000);
  evalMs.push(performance.now() - t0);
}
if (profile !== null) process.stderr.write(`tsdb-retention: rule evaluation profile in ${await profile()}\n`);
peakRss = Math.max(peakRss, process.memoryUsage.rss());

const out = [
  `| measure | value |`,
  `|---|---:|`,
  `| series x samples each | ${n} x ${ticks} = ${(samples / 1e6).toFixed(1)} M samples |`,
  `| values | ${valuesMode === 'random' ? 'uniform random doubles' : 'Flink shapes: constants, counters, gauges from the synthetic job'} |`,
  `| fill time (synthesized, not real time) | ${fillS.toFixed(1)} s |`,
  `| store's own accounting: chunk bytes (closed chunks with headers, head slots, chunk references) | ${mb(sampleBytes)} = ${(sampleBytes / samples).toFixed(2)} bytes per sample; ${st.chunkCount} chunks |`,
  `| chunk bytes per sample by kind of series: constants / counters / gauges | ${perKind(0)} / ${perKind(1)} / ${perKind(2)} |`,
  `| chunk pages held (1 MiB each, free space included) | ${mb(st.pageBytes)} = ${(st.pageBytes / samples).toFixed(2)} bytes per sample |`,
  `| RSS delta over the fill (after a GC) | ${mb(mem.rss - rssBeforeFill)} = ${((mem.rss - rssBeforeFill) / samples).toFixed(2)} bytes per sample |`,
  `| heap used after a full GC${gc ? '' : ' (no --expose-gc: not collected)'} | ${mb(mem.heapUsed)}; array buffers ${mb(mem.arrayBuffers)} |`,
  `| (heap + array buffers) per sample | ${((mem.heapUsed + mem.arrayBuffers) / samples).toFixed(2)} bytes |`,
  `| RSS after the fill and a GC / peak / before the fill (series created) / at start | ${mb(mem.rss)} / ${mb(peakRss)} / ${mb(rssBeforeFill)} / ${mb(rssAtStart)} |`,
  ...queryMs.map((x) => `| ${x.q}: wall / CPU | ${x.wall.toFixed(0)} / ${x.cpu.toFixed(0)} ms |`),
  `| rule evaluation, every group of rules/*.yml (3 runs): wall / CPU | ${evalMs.map((x) => x.toFixed(0)).join(' / ')} ms / ${evalCpuMs.map((x) => x.toFixed(0)).join(' / ')} ms |`,
];
process.stdout.write(`${out.join('\n')}\n`);

/** Writes every sample as OpenMetrics text (a family's series together under one # TYPE line, as promtool wants). */
function openMetricsWriter(path: string, series: SeriesRef[]): { sample(i: number, t: number, v: number): void; close(): Promise<void> } {
  let perSeries: number[][] = series.map(() => []);
  return {
    sample(i, t, v) {
      perSeries[i]!.push(t, v);
    },
    async close() {
      const { createWriteStream } = await import('node:fs');
      const out = createWriteStream(path);
      const write = (s: string): Promise<void> => new Promise((res) => { if (out.write(s)) res(); else out.once('drain', () => res()); });
      const byName = new Map<string, number[]>();
      series.forEach((s, i) => {
        const name = s.labels['__name__']!;
        let l = byName.get(name);
        if (l === undefined) byName.set(name, (l = []));
        l.push(i);
      });
      for (const [name, idx] of byName) {
        await write(`# TYPE ${name} gauge\n`);
        for (const i of idx) {
          const l = series[i]!.labels;
          const parts: string[] = [];
          for (const k in l) if (k !== '__name__') parts.push(`${k}=${JSON.stringify(l[k])}`);
          const head = `${name}{${parts.join(',')}} `;
          const xs = perSeries[i]!;
          let buf = '';
          for (let k = 0; k < xs.length; k += 2) buf += `${head}${fmt(xs[k + 1]!)} ${(xs[k]! / 1000).toFixed(3)}\n`;
          await write(buf);
          perSeries[i] = [];
        }
      }
      await write('# EOF\n');
      await new Promise<void>((res) => out.end(res));
      perSeries = [];
    },
  };
}

function fmt(v: number): string {
  return Number.isNaN(v) ? 'NaN' : v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v);
}

/** Starts the V8 CPU profiler; the returned function stops it and writes a .cpuprofile, returning its path. */
async function startProfile(): Promise<() => Promise<string>> {
  const { Session } = await import('node:inspector/promises');
  const { writeFileSync, mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    const file = join(mkdtempSync(join(tmpdir(), 'fp-tsdb-retention-')), 'rules.cpuprofile');
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
    return file;
  };
}

function join(...p: string[]): string {
  return resolve(...p);
}
