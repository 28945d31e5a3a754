/**
 * Bytes allocated per evaluation of the rule pack (issue 16: the agent's peak RSS is mostly the
 * garbage of rule evaluation), and the evaluation's CPU time, without scraping over HTTP: the
 * synthetic job's bodies are parsed in this process and appended as a scrape would append them
 * (job and instance labels, one tick of every target per interval), `--ticks` intervals of
 * samples (12 = one minute at 5 s), then the pack (rules/*.yml) is evaluated `--evals` times,
 * one interval apart, each after one more tick of samples.
 *
 * Allocation is measured with V8's sampling heap profiler told to keep the samples of objects
 * that minor and major GCs collected, so its total is what the evaluation allocated, not what
 * survived it (a sampled estimate, interval 16 kB). The top allocation sites are printed.
 *
 * Usage: node bench/agent-eval/rule-alloc.ts [--vertices 64] [--subtasks 128] [--ticks 12]
 *          [--evals 5] [--top 15]
 */
import { Session } from 'node:inspector/promises';
import { resolve } from 'node:path';
import { readdirSync } from 'node:fs';
import { MemoryStorage, labelsFromRecord, type SeriesRef } from '../../agent/tsdb/index.ts';
import { PromQLEngine } from '../../agent/promql/index.ts';
import { RuleManager, engineQueryFunc } from '../../agent/rules/index.ts';
import { parsePrometheusText } from '../../agent/collect/prometheus-text.ts';
import { syntheticJob } from './synthetic-job.ts';
import { flags } from './args.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const { num } = flags(process.argv.slice(2));
const vertices = num('--vertices', 64, 1);
const subtasks = num('--subtasks', 128, 1);
const ticks = num('--ticks', 12, 1);
const evals = num('--evals', 5, 1);
const top = num('--top', 15, 0);
const intervalMs = 5000;

const job = syntheticJob({ vertices, subtasks, intervalMs, seed: 1 });
const storage = new MemoryStorage();
const refs = new Map<string, SeriesRef[]>();
let now = Math.floor(Date.now() / intervalMs) * intervalMs - (ticks + evals) * intervalMs;
let tick = 0;
function scrapeAll(): void {
  for (const target of job.targets) {
    const parsed = parsePrometheusText(target.render(tick));
    let list = refs.get(target.name);
    if (list === undefined) {
      list = parsed.samples.map((s) => storage.ref(labelsFromRecord({ ...s.labels, job: target.job, instance: target.name }))!);
      refs.set(target.name, list);
    }
    for (let i = 0; i < parsed.samples.length; i++) storage.appendRef(list[i]!, now, parsed.samples[i]!.value);
  }
  tick++;
}
for (let i = 0; i < ticks; i++) {
  scrapeAll();
  now += intervalMs;
}
const ruleDir = resolve(ROOT, 'rules');
const files = readdirSync(ruleDir).filter((f) => f.endsWith('.yml')).map((f) => resolve(ruleDir, f));
const engine = new PromQLEngine(storage);
const rules = new RuleManager({ files, query: engineQueryFunc(engine), appender: storage, evaluationIntervalMs: intervalMs });
const loaded = await rules.reload();
if (!loaded.ok) throw new Error('rule files have problems');
// One unmeasured evaluation: compiles the code paths, fills the selection cache.
await rules.evaluateAll(now - intervalMs / 2);

interface Node { callFrame: { functionName: string; url: string; lineNumber: number }; selfSize: number; children: Node[] }
const session = new Session();
session.connect();
const mb = (b: number): string => (b / 1024 / 1024).toFixed(1);
process.stdout.write(`rule-alloc: ${vertices} x ${subtasks}, ${job.seriesCount} series, ${ticks} ticks held, ${evals} measured evaluations\n`);
const sites = new Map<string, number>();
const perEval: Array<{ bytes: number; cpuMs: number; wallMs: number }> = [];
for (let e = 0; e < evals; e++) {
  scrapeAll();
  now += intervalMs;
  await session.post('HeapProfiler.startSampling', { samplingInterval: 16384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  await rules.evaluateAll(now - intervalMs / 2);
  const wallMs = performance.now() - w0;
  const c = process.cpuUsage(c0);
  const { profile } = await session.post('HeapProfiler.stopSampling') as unknown as { profile: { head: Node } };
  let bytes = 0;
  const name = (f: Node['callFrame']): string => `${f.functionName || '(anonymous)'} ${f.url.replace(/^file:\/\//, '').replace(ROOT + '/', '')}:${f.lineNumber + 1}`;
  const walk = (n: Node, parent: Node | null): void => {
    bytes += n.selfSize;
    if (n.selfSize > 0) {
      const f = n.callFrame;
      // Built-ins (Array.prototype.push, Object.keys, ...) are shown with their caller.
      const where = f.url === '' && parent !== null ? `${name(f)} <- ${name(parent.callFrame)}` : name(f);
      sites.set(where, (sites.get(where) ?? 0) + n.selfSize);
    }
    for (const ch of n.children) walk(ch, n);
  };
  walk(profile.head, null);
  perEval.push({ bytes, cpuMs: (c.user + c.system) / 1000, wallMs });
  process.stdout.write(`eval ${e + 1}: allocated ${mb(bytes)} MB, CPU ${((c.user + c.system) / 1000).toFixed(0)} ms, wall ${wallMs.toFixed(0)} ms\n`);
}
const errors = rules.groups().flatMap((g) => g.rules.filter((r) => r.health === 'err').map((r) => `${r.name}: ${r.lastError}`));
if (errors.length > 0) process.stdout.write(`rule errors: ${errors.join('; ')}\n`);
const sorted = [...perEval].sort((a, b) => a.bytes - b.bytes);
const med = sorted[Math.floor(sorted.length / 2)]!;
const cpu = perEval.map((p) => p.cpuMs).sort((a, b) => a - b);
process.stdout.write(`median allocated per pack evaluation ${mb(med.bytes)} MB; CPU per evaluation ${cpu.map((x) => x.toFixed(0)).join(' / ')} ms (median ${cpu[Math.floor(cpu.length / 2)]!.toFixed(0)})\n`);
if (top > 0) {
  process.stdout.write(`top allocation sites (MB per evaluation):\n`);
  for (const [where, b] of [...sites].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`  ${mb(b / evals).padStart(6)}  ${where}\n`);
}
session.disconnect();
