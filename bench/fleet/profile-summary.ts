/**
 * Summarizes V8 .cpuprofile files (from run.ts --cpu-prof DIR): the top functions by self time
 * and by total (inclusive) time, and self time by file, each as ms per managed job per collection
 * interval when given the job count and interval (or as ms and % of the profiled time).
 *
 * Usage: node bench/fleet/profile-summary.ts FILE.cpuprofile... [--jobs N] [--interval S] [--top 25]
 */
import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';

interface CallFrame { functionName: string; url: string; lineNumber: number; columnNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
export interface CpuProfile { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] }

const ROOT = resolve(import.meta.dirname, '../..');

function where(cf: CallFrame): string {
  const url = cf.url.startsWith('file://') ? relative(ROOT, new URL(cf.url).pathname) : cf.url;
  return url === '' ? '' : `${url}:${cf.lineNumber + 1}`;
}
const label = (cf: CallFrame): string => `${cf.functionName || '(anonymous)'} ${where(cf)}`.trim();
function fileOf(cf: CallFrame): string {
  if (cf.url === '') return `(${cf.functionName || 'native'})`;
  const url = cf.url.startsWith('file://') ? relative(ROOT, new URL(cf.url).pathname) : cf.url;
  const nm = url.indexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return `node_modules/${rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  return url;
}

export interface Summary {
  totalMs: number;
  self: Map<string, number>;
  total: Map<string, number>;
  byFile: Map<string, number>;
  /** self time charged to the nearest project frame on the stack (libraries and Node internals charged to their caller) */
  byOwnFrame: Map<string, number>;
  /** self time by area of the agent (AREAS) */
  byArea: Map<string, number>;
}

/**
 * Areas of the agent, matched in this order against every frame of a sample's stack (the first
 * area any frame matches wins). Socket reads and writes that undici runs from its own callbacks
 * carry no caller and land in "undici I/O".
 */
const AREAS: Array<[string, RegExp]> = [
  ['profiler', /bench\/fleet\/cpu-prof\.ts/],
  ['HTTP API and /metrics (the bench polls them)', /agent\/server\/|common\/service-http\.ts|prom-client|node:_http_server/],
  ['Kubernetes client (state, journal, policy, Leases, watch)', /@kubernetes\/client-node|undici\/lib\/web\/fetch|agent\/kube\/|actuate\/journal\/|fleet\/discovery\.ts/],
  ['shard (owners, Lease rounds)', /fleet\/shard\.ts/],
  ['Flink REST collection', /flink\/rest-client\.ts|collect\/flink-rest\.ts|collect\/flink-names\.ts|collect\/observation\.ts|undici\/lib\/api\//],
  ['TSDB ingestion and replication', /agent\/tsdb\/|collect\/scraper\.ts|promql\/query-pool\.ts/],
  ['rule evaluation', /agent\/rules\/|agent\/promql\//],
  ['autoscaler pipeline (decide, actuate, record)', /agent\/scaling\/|agent\/actuate\/|agent\/record\/|fleet\/job-pipeline\.ts|fleet\/manager\.ts/],
  ['undici I/O (no caller on the stack)', /undici\//],
  ['logging', /pino|common\/log\.ts/],
];

/** A frame of the project's own code (not node_modules, not Node's, not native, not the profiler preload). */
const own = (cf: CallFrame): boolean => cf.url.startsWith('file://') && !cf.url.includes('/node_modules/') && !cf.url.includes('/bench/fleet/cpu-prof.ts');

/** Self and inclusive time (ms) per function label, and self time per file. */
export function summarize(p: CpuProfile): Summary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) selfUs.set(p.samples[i]!, (selfUs.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0));
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const byFile = new Map<string, number>();
  const byOwnFrame = new Map<string, number>();
  const byArea = new Map<string, number>();
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    if (n.callFrame.functionName === '(idle)') continue;
    // the profiler's own stop (serializing the profile) is not the agent's work
    let profiler = false;
    for (let cur: number | undefined = id; cur !== undefined && !profiler; cur = parent.get(cur)) profiler = byId.get(cur)!.callFrame.url.endsWith('/bench/fleet/cpu-prof.ts');
    if (profiler) continue;
    totalUs += us;
    const l = label(n.callFrame);
    self.set(l, (self.get(l) ?? 0) + us / 1000);
    byFile.set(fileOf(n.callFrame), (byFile.get(fileOf(n.callFrame)) ?? 0) + us / 1000);
    // inclusive: each distinct function on the stack once
    const seen = new Set<string>();
    let ownFrame: string | null = null;
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const cf = byId.get(cur)!.callFrame;
      if (ownFrame === null && own(cf)) ownFrame = label(cf);
      const ll = label(cf);
      if (seen.has(ll)) continue;
      seen.add(ll);
      total.set(ll, (total.get(ll) ?? 0) + us / 1000);
    }
    const urls: string[] = [];
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) urls.push(byId.get(cur)!.callFrame.url);
    const area = AREAS.find(([, re]) => urls.some((u) => re.test(u)))?.[0]
      ?? (n.callFrame.url === '' ? `other: ${n.callFrame.functionName}` : 'other');
    byArea.set(area, (byArea.get(area) ?? 0) + us / 1000);
    const of = ownFrame ?? `(no project frame) ${l}`;
    byOwnFrame.set(of, (byOwnFrame.get(of) ?? 0) + us / 1000);
  }
  return { totalMs: totalUs / 1000, self, total, byFile, byOwnFrame, byArea };
}

function merge(a: Map<string, number>, b: Map<string, number>): void {
  for (const [k, v] of b) a.set(k, (a.get(k) ?? 0) + v);
}

if (import.meta.main) {
  const argv = process.argv.slice(2);
  const opt = (f: string): number | undefined => (argv.includes(f) ? Number(argv[argv.indexOf(f) + 1]) : undefined);
  const files = argv.filter((a, i) => a.endsWith('.cpuprofile') && !argv[i - 1]?.startsWith('--'));
  const jobs = opt('--jobs');
  const intervalS = opt('--interval');
  const top = opt('--top') ?? 25;
  const all: Summary = { totalMs: 0, self: new Map(), total: new Map(), byFile: new Map(), byOwnFrame: new Map(), byArea: new Map() };
  let wallMs = 0;
  for (const f of files) {
    const p = JSON.parse(readFileSync(f, 'utf8')) as CpuProfile;
    const s = summarize(p);
    wallMs = Math.max(wallMs, (p.endTime - p.startTime) / 1000);
    all.totalMs += s.totalMs;
    merge(all.self, s.self);
    merge(all.total, s.total);
    merge(all.byFile, s.byFile);
    merge(all.byOwnFrame, s.byOwnFrame);
    merge(all.byArea, s.byArea);
  }
  // ms per job per interval: profiled CPU ms × (interval / profiled wall time) / jobs
  const perJob = jobs !== undefined && intervalS !== undefined ? (ms: number): number => (ms * intervalS * 1000) / wallMs / jobs : null;
  const fmt = (ms: number): string => `${ms.toFixed(0).padStart(7)} ms ${((100 * ms) / all.totalMs).toFixed(1).padStart(5)}%${perJob ? ` ${perJob(ms).toFixed(3).padStart(7)} ms/job/interval` : ''}`;
  process.stdout.write(`${files.length} profiles, ${(wallMs / 1000).toFixed(1)} s wall, ${all.totalMs.toFixed(0)} ms on CPU (idle excluded)${perJob ? `: ${perJob(all.totalMs).toFixed(2)} ms per job per interval` : ''}\n`);
  const show = (title: string, m: Map<string, number>): void => {
    process.stdout.write(`\n${title}\n`);
    for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${fmt(v)}  ${k}\n`);
  };
  show('by area of the agent (first match on the stack)', all.byArea);
  show('self time by function', all.self);
  show('total time by function', all.total);
  show('self time by file', all.byFile);
  show('self time charged to the nearest project frame (library and Node time to its caller)', all.byOwnFrame);
}
