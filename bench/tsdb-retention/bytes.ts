/**
 * Bytes per sample of the agent's store on the exact samples scrape-compare.ts feeds it, in a
 * minute or two instead of half an hour: every target of the agent-eval synthetic job is
 * rendered tick by tick and parsed with the agent's parser (the values a scrape would append),
 * and appended at a 5 s virtual interval. No HTTP, no Prometheus, no rules: only the encoding.
 * Each vertex has its own rate (so its own counter and rate widths) while subtasks repeat their
 * vertex's shapes: 64 vertices x 16 subtasks (the default) has the full-scale (64 x 128) mix at
 * an eighth of the series; fewer vertices give another mix, with fewer bytes per sample.
 * Prints the store's accounting, then bytes per sample by metric name, costliest first.
 *
 * Usage: node bench/tsdb-retention/bytes.ts [--vertices 64] [--subtasks 16] [--hours 2]
 *          [--interval 5000] [--seed 1] [--top 20]
 */
import { MemoryStorage, labelsFromRecord, type SeriesRef } from '../../agent/tsdb/index.ts';
import { parsePrometheusText } from '../../agent/collect/prometheus-text.ts';
import { syntheticJob } from '../agent-eval/synthetic-job.ts';
import { flags } from '../agent-eval/args.ts';

const { num } = flags(process.argv.slice(2));
const vertices = num('--vertices', 64);
const subtasks = num('--subtasks', 16);
const hours = num('--hours', 2);
const intervalMs = num('--interval', 5000);
const seed = num('--seed', 1);
const top = num('--top', 20);

const job = syntheticJob({ vertices, subtasks, seed, intervalMs });
const ticks = Math.round((hours * 3600_000) / intervalMs);
const storage = new MemoryStorage({ retentionMs: hours * 3600_000 + intervalMs });
const start = 1_765_000_000_000;
const refs: SeriesRef[][] = job.targets.map(() => []);
const t0 = performance.now();
for (let k = 0; k < ticks; k++) {
  const t = start + k * intervalMs;
  job.targets.forEach((target, ti) => {
    const samples = parsePrometheusText(target.render(k)).samples;
    const r = refs[ti]!;
    samples.forEach((s, i) => {
      let ref = r[i];
      if (ref === undefined) {
        const created = storage.ref(labelsFromRecord({ ...s.labels, job: target.job, instance: target.name }));
        if (created === null) throw new Error('series limit');
        r[i] = ref = created;
      }
      const res = storage.appendRef(ref, t, s.value);
      if (res !== 'ok') throw new Error(`append ${res} at tick ${k}`);
    });
  });
}
const fillS = (performance.now() - t0) / 1000;
const st = storage.stats();
const byName = new Map<string, { bytes: number; samples: number; series: number }>();
for (const r of refs.flat()) {
  const name = r.labels['__name__']!;
  let e = byName.get(name);
  if (e === undefined) byName.set(name, (e = { bytes: 0, samples: 0, series: 0 }));
  e.bytes += r.sampleBytes;
  e.samples += r.length;
  e.series++;
}
const rows = [...byName].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, top);
const out = [
  `series x samples: ${st.series} x ${ticks} = ${(st.samples / 1e6).toFixed(2)} M (${vertices} x ${subtasks}, ${hours} h at ${intervalMs} ms), fill ${fillS.toFixed(1)} s`,
  `bytes per sample (store accounting: closed chunks with headers, head slots, chunk references): ${(st.bytes / st.samples).toFixed(3)}`,
  `chunk pages held: ${(st.pageBytes / st.samples).toFixed(3)} bytes per sample`,
  '| metric | series | share of bytes | bytes per sample |',
  '|---|---:|---:|---:|',
  ...rows.map(([n, e]) => `| ${n.replace(/^flink_taskmanager_job_task_/, '…task_')} | ${e.series} | ${((100 * e.bytes) / st.bytes).toFixed(1)} % | ${(e.bytes / e.samples).toFixed(3)} |`),
];
process.stdout.write(`${out.join('\n')}\n`);
