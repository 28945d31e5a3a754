/**
 * Bytes per sample of the agent's store on series recorded from a real exporter (issue 16: how
 * realistic are the synthetic "Flink shapes"?). Reads exposition bodies scraped every interval
 * into a directory (files `tNNN-<port>.txt`, e.g. from the engine's JobManager and TaskManager
 * /metrics while `flowpilot up` runs a job), keeps the series present in every tick, says what
 * they are (constant, counter = never decreasing, gauge; integer-valued or not), then fills a
 * MemoryStorage with `--hours` (2) at the recorded interval by replaying each series: a counter
 * keeps adding its recorded increments in turn, a gauge or constant cycles through its recorded
 * values. Replay repeats the recorded values; it invents none.
 *
 * Usage: node bench/tsdb-retention/recorded.ts DIR [--hours 2] [--interval 5000]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryStorage, labelsFromRecord, type SeriesRef } from '../../agent/tsdb/index.ts';
import { parsePrometheusText } from '../../agent/collect/prometheus-text.ts';

const argv = process.argv.slice(2);
const dir = argv[0];
if (dir === undefined || dir.startsWith('--')) throw new Error('usage: recorded.ts DIR [--hours 2] [--interval 5000]');
const opt = (name: string, def: number): number => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : def);
const hours = opt('--hours', 2);
const intervalMs = opt('--interval', 5000);

// series key -> values by tick
const byTick = new Map<string, number[]>();
const labelsOf = new Map<string, Record<string, string>>();
const files = readdirSync(dir).filter((f) => /^t\d+-\d+\.txt$/.test(f)).sort();
const ticks = [...new Set(files.map((f) => f.split('-')[0]!))];
ticks.forEach((tick, k) => {
  for (const f of files.filter((x) => x.startsWith(`${tick}-`))) {
    const port = f.slice(f.indexOf('-') + 1, -4);
    for (const s of parsePrometheusText(readFileSync(join(dir, f), 'utf8')).samples) {
      const key = `${port}|${s.series}`;
      if (k === 0) {
        byTick.set(key, []);
        labelsOf.set(key, { ...s.labels, instance: port });
      }
      const vs = byTick.get(key);
      if (vs !== undefined && vs.length === k) vs.push(s.value);
    }
  }
});
const series = [...byTick].filter(([, vs]) => vs.length === ticks.length && vs.every((v) => Number.isFinite(v)));
const KINDS = ['constant', 'counter', 'gauge'] as const;
const kindOf = (vs: number[]): number => (vs.every((v) => v === vs[0]) ? 0 : vs.every((v, i) => i === 0 || v >= vs[i - 1]!) ? 1 : 2);

const storage = new MemoryStorage({ retentionMs: hours * 3600_000 });
const n = Math.round((hours * 3600_000) / intervalMs);
const end = Math.floor(Date.now() / intervalMs) * intervalMs;
const start = end - (n - 1) * intervalMs;
const refs: Array<{ ref: SeriesRef; kind: number; integral: boolean }> = [];
const counts = [0, 0, 0];
const integralCounts = [0, 0, 0];
for (const [key, vs] of series) {
  const ref = storage.ref(labelsFromRecord(labelsOf.get(key)!));
  if (ref === null) throw new Error('series limit');
  const kind = kindOf(vs);
  const integral = vs.every((v) => Number.isInteger(v));
  counts[kind]!++;
  if (integral) integralCounts[kind]!++;
  refs.push({ ref, kind, integral });
  let v = vs[0]!;
  for (let k = 0; k < n; k++) {
    if (kind === 1) {
      if (k > 0) v += vs[1 + ((k - 1) % (vs.length - 1))]! - vs[((k - 1) % (vs.length - 1))]!;
    } else v = vs[k % vs.length]!;
    storage.appendRef(ref, start + k * intervalMs, v);
  }
}
const kindBytes = [0, 0, 0];
const kindSamples = [0, 0, 0];
for (const r of refs) {
  kindBytes[r.kind]! += r.ref.sampleBytes;
  kindSamples[r.kind]! += r.ref.length;
}
const st = storage.stats();
const lines = [
  `recorded: ${dir}, ${ticks.length} ticks, ${series.length} series present in every tick (${byTick.size - series.length} left out); replayed for ${hours} h at ${intervalMs} ms = ${st.samples} samples`,
  ...KINDS.map((k, i) => `  ${k}s: ${counts[i]} series (${integralCounts[i]} integer-valued), ${(kindBytes[i]! / Math.max(1, kindSamples[i]!)).toFixed(2)} bytes per sample`),
  `  all: ${(st.bytes / st.samples).toFixed(2)} bytes per sample (store's own accounting)`,
];
process.stdout.write(`${lines.join('\n')}\n`);
