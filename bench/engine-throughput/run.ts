/**
 * Engine throughput benchmark. Prints records/s for
 *   (a) a chained stateless pipeline (generator -> map -> filter -> discard) in one TaskManager, and
 *   (b) a keyed count with a network shuffle across two TaskManagers,
 * each beside a bare Node loop doing the same per-record work in the same run, as a ratio, plus
 * the peak RSS of every TaskManager. Targets: (a) >= 25 % and >= 3x Node object-mode streams (same work, same run), (b) >= 30 %, RSS <= 300 MB.
 * (c) runs (b), then (a), with and without a checkpoint every second, alternating, `--reps` times
 * (default 3), and prints each pair's ratio and the median ratio (target >= 90 %), and per
 * checkpoint what it cost the subtasks as their TaskManagers log it (debug level): the sync
 * pause (snapshot + barrier, the task processes nothing meanwhile), the barrier alignment, the
 * source's start delay (trigger to safe point) and the asynchronous state file write. Each pair
 * is also compared up to the end of input (the final checkpoint's trigger: every record has been
 * processed), beside the final checkpoint's duration, a fixed cost per bounded job.
 * (a) and (b) also run `--reps` times, each rep with its own baselines. (b) also prints the share of
 * busy / idle / backpressured time of its sources and its keyed tasks, as their TaskManagers last
 * reported it (a sample of the run: the heartbeat before the end).
 * Usage: node bench/engine-throughput/run.ts [--records N] [--reps N] [--only a|b|c] [--case keyed|chained] [-D key=value ...]
 * (FP_BENCH_STDOUT=1 passes the engine processes' stdout through, e.g. for `node --trace-deopt bench/...`: they inherit node's flags.)
 * (`--case` runs only that case of (c).)
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { KEYS, keepRecord, makeRecord, mapRecord, type BenchRecord } from './work.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'cli/main.ts');
const argv = process.argv.slice(2);
/** `-D key=value` options are passed to every engine process. */
const DEFINES = argv.flatMap((a, i) => (a === '-D' && argv[i + 1] ? ['-D', argv[i + 1]!] : []));
const RECORDS = argv.includes('--records') ? Number(argv[argv.indexOf('--records') + 1]) : 3_000_000;
const REPS = argv.includes('--reps') ? Number(argv[argv.indexOf('--reps') + 1]) : 3;
const ONLY = argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : undefined;

function bareChained(n: number): number {
  const t0 = performance.now();
  let kept = 0;
  for (let i = 0; i < n; i++) {
    const m = mapRecord(makeRecord(0, i, 1));
    if (keepRecord(m)) kept++;
  }
  const s = (performance.now() - t0) / 1000;
  if (kept < 0) console.log(kept);
  return n / s;
}

/**
 * The same work with records materialized in batches of 1000, as any pipeline that hands
 * records from a source to operators must; V8 cannot then elide the record allocations as it
 * does in the fused loop above.
 */
function batchedChained(n: number): number {
  const t0 = performance.now();
  let kept = 0;
  let batch: ReturnType<typeof makeRecord>[] = [];
  const flush = (b: ReturnType<typeof makeRecord>[]) => {
    const mapped = b.map(mapRecord);
    for (let j = 0; j < mapped.length; j++) if (keepRecord(mapped[j]!)) kept++;
  };
  for (let i = 0; i < n; i++) {
    batch.push(makeRecord(0, i, 1));
    if (batch.length === 1000) {
      flush(batch);
      batch = [];
    }
  }
  flush(batch);
  const s = (performance.now() - t0) / 1000;
  if (kept < 0) console.log(kept);
  return n / s;
}

/**
 * The same work as what a TypeScript user would pick for in-process streaming: Node's
 * object-mode `stream.pipeline` (Readable -> map Transform -> filter Transform -> Writable),
 * default high-water marks.
 */
async function nodeStreamsChained(n: number): Promise<number> {
  const t0 = performance.now();
  let i = 0;
  let kept = 0;
  const source = new Readable({
    objectMode: true,
    read() {
      for (;;) {
        if (i >= n) {
          this.push(null);
          return;
        }
        if (!this.push(makeRecord(0, i++, 1))) return;
      }
    },
  });
  const map = new Transform({
    objectMode: true,
    transform(r: BenchRecord, _enc, cb) {
      cb(null, mapRecord(r));
    },
  });
  const filter = new Transform({
    objectMode: true,
    transform(r: BenchRecord, _enc, cb) {
      if (keepRecord(r)) cb(null, r);
      else cb();
    },
  });
  const sink = new Writable({
    objectMode: true,
    write(_r: BenchRecord, _enc, cb) {
      kept++;
      cb();
    },
  });
  await pipeline(source, map, filter, sink);
  const s = (performance.now() - t0) / 1000;
  if (kept < 0) console.log(kept);
  return n / s;
}

function bareKeyed(n: number): number {
  const t0 = performance.now();
  const counts = new Map<string, number>();
  let emitted = 0;
  for (let g = 0; g < n; g++) {
    const r = makeRecord(g % 2, Math.floor(g / 2), 2);
    const c = (counts.get(r.key) ?? 0) + 1;
    counts.set(r.key, c);
    if ((c & 1023) === 0) emitted++;
  }
  const s = (performance.now() - t0) / 1000;
  if (counts.size !== KEYS || emitted < 0) console.log(counts.size);
  return n / s;
}

interface Proc {
  child: ChildProcess;
  ready: Record<string, unknown>;
}

/** What a TaskManager logs (at debug level) for each checkpoint state file it wrote: see TaskExecutor's CheckpointTiming. */
interface CheckpointTrace {
  checkpointId: number;
  vertex: string;
  subtask: number;
  syncMs: number;
  alignmentMs: number;
  startDelayMs: number;
  asyncMs: number;
}

/** `traces`: when given, the process logs at debug level and its checkpoint lines are collected there (other warnings still go to stderr). */
function start(args: string[], traces?: CheckpointTrace[]): Promise<Proc & { submitted: Promise<string> }> {
  const child = fork(CLI, args, {
    stdio: ['ignore', process.env.FP_BENCH_STDOUT ? 'inherit' : 'ignore', traces ? 'pipe' : 'inherit', 'ipc'],
    env: { ...process.env, FLOWPILOT_PARENT_PID: String(process.pid), FLOWPILOT_LOG_LEVEL: traces ? 'debug' : 'warn' },
  });
  if (traces && child.stderr) {
    let buf = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let rec: Record<string, unknown> | null = null;
        try {
          rec = JSON.parse(line) as Record<string, unknown>;
        } catch {
          process.stderr.write(line + '\n');
          continue;
        }
        if (rec.msg === 'checkpoint state written') traces.push(rec as unknown as CheckpointTrace);
        else if (typeof rec.level === 'number' && rec.level >= 40) process.stderr.write(line + '\n');
      }
    });
  }
  // A JobManager's 'submitted' can arrive in the same IPC chunk as 'ready', so it is listened for from the start.
  const submitted = new Promise<string>((res, rej) => {
    child.on('message', (m: Record<string, unknown>) => {
      if (m.type === 'submitted') res(String(m.jobId));
      if (m.type === 'submit-failed') rej(new Error(String(m.error)));
    });
  });
  submitted.catch(() => {});
  return new Promise((res, rej) => {
    child.on('message', (m: Record<string, unknown>) => m.type === 'ready' && res({ child, ready: m, submitted }));
    child.once('exit', (c) => rej(new Error(`${args[1]} exited with ${c}`)));
  });
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

/** Nanoseconds a process's main thread (the event loop) has run on a CPU and waited in a run queue for one (/proc/<pid>/schedstat). */
function schedstat(pid: number): { run: number; wait: number } {
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ').map(Number);
    return { run: run ?? 0, wait: wait ?? 0 };
  } catch {
    return { run: 0, wait: 0 };
  }
}

interface SchedSample {
  t: number;
  per: Array<{ run: number; wait: number }>;
}

/**
 * Each TaskManager's main thread over the run window [from, to] (ms, wall clock), from samples
 * taken every 10 ms: the share of the window it ran on a CPU and the share it waited for one
 * (other processes on the machine), so a loaded machine can be told from a waiting engine.
 */
function threadShares(samples: SchedSample[], from: number, to: number): Array<{ run: number; wait: number }> {
  if (samples.length < 2) return [];
  let a = samples[0]!;
  let b = samples[samples.length - 1]!;
  for (const s of samples) if (s.t <= from) a = s;
  for (let i = samples.length - 1; i >= 0; i--) if (samples[i]!.t >= to) b = samples[i]!;
  const ms = b.t - a.t;
  return a.per.map((x, i) => ({ run: (b.per[i]!.run - x.run) / 1e6 / ms, wait: (b.per[i]!.wait - x.wait) / 1e6 / ms }));
}

function rss(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

async function rest<T>(port: unknown, path: string): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5000) });
  return (await res.json()) as T;
}

interface Subtask {
  'end-time': number;
  'status-duration': Record<string, number>;
  metrics?: Record<string, number | boolean>;
}

/** A vertex's subtasks' accumulated busy / idle / backpressured ms, as last reported by their TaskManagers' heartbeats. */
interface TaskTimes {
  busy: number;
  idle: number;
  backpressured: number;
}

/** "busy B % / idle I % / backpressured P %" of the reported time. */
function shares(t: TaskTimes): string {
  const sum = t.busy + t.idle + t.backpressured;
  const pct = (x: number) => (sum > 0 ? ((100 * x) / sum).toFixed(0) : '?');
  return `busy ${pct(t.busy)} % / idle ${pct(t.idle)} % / backpressured ${pct(t.backpressured)} %`;
}

/** Runs a job module on JM + `tms` TaskManagers; returns records/s from the source's RUNNING start to the last subtask's end. */
async function engineRun(
  job: string,
  args: string,
  parallelism: number,
  tms: number,
  records: number,
): Promise<{ taskTimes: TaskTimes[]; tmCpu: number[]; threads: Array<{ run: number; wait: number }>; rate: number; seconds: number; processedRate: number; finalCheckpointSeconds: number; peakRss: number[]; checkpoints: number; traces: CheckpointTrace[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'fp-bench-'));
  const traces: CheckpointTrace[] = [];
  const tracing = args.includes('--checkpoint-interval');
  const procs: Proc[] = [];
  try {
    const jm = await start(['engine', 'jobmanager', '--rest-port', '0', '--rpc-port', '0', '--metrics-port', '0', '--state-dir', join(dir, 'jm'), '--job', job, '--program-args', args, '--parallelism', String(parallelism), ...DEFINES]);
    procs.push(jm);
    const jobId = await jm.submitted;
    for (let i = 0; i < tms; i++) {
      procs.push(await start(['engine', 'taskmanager', '--jobmanager', `127.0.0.1:${jm.ready.rpcPort}`, '--slots', '1', '--state-dir', join(dir, `tm${i}`), ...DEFINES], tracing ? traces : undefined));
    }
    const peakRss = new Array<number>(tms).fill(0);
    const tmPids = procs.slice(1).map((p) => p.child.pid!);
    const samples: SchedSample[] = [];
    const sampler = setInterval(() => samples.push({ t: Date.now(), per: tmPids.map(schedstat) }), 10);
    for (;;) {
      for (let i = 0; i < tms; i++) peakRss[i] = Math.max(peakRss[i]!, rss(procs[i + 1]!.child.pid!));
      const st = await rest<{ state: string }>(jm.ready.restPort, `/jobs/${jobId}`);
      if (st.state === 'FINISHED') break;
      if (st.state === 'FAILED') throw new Error(`bench job failed: ${JSON.stringify(await rest(jm.ready.restPort, `/jobs/${jobId}/exceptions`)).slice(0, 1000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    clearInterval(sampler);
    const details = await rest<{ vertices: Array<{ id: string }> }>(jm.ready.restPort, `/jobs/${jobId}`);
    let start0 = Infinity;
    let end = 0;
    const taskTimes: TaskTimes[] = [];
    for (const [i, v] of details.vertices.entries()) {
      const vd = await rest<{ subtasks: Subtask[] }>(jm.ready.restPort, `/jobs/${jobId}/vertices/${v.id}`);
      const times: TaskTimes = { busy: 0, idle: 0, backpressured: 0 };
      taskTimes.push(times);
      for (const s of vd.subtasks) {
        const m = s.metrics ?? {};
        times.busy += Number(m['accumulated-busy-time'] ?? 0);
        times.idle += Number(m['accumulated-idle-time'] ?? 0);
        times.backpressured += Number(m['accumulated-backpressured-time'] ?? 0);
        end = Math.max(end, s['end-time']);
        if (i === 0) start0 = Math.min(start0, s['end-time'] - (s['status-duration'].RUNNING ?? 0));
      }
    }
    const cps = await fetch(`http://127.0.0.1:${jm.ready.restPort}/jobs/${jobId}/checkpoints`, { signal: AbortSignal.timeout(5000) });
    const cpStats = cps.ok ? ((await cps.json()) as { counts: { completed: number; failed: number; total: number }; history: Array<{ trigger_timestamp: number; status: string }> }) : null;
    const counts = cpStats?.counts ?? null;
    if (process.env.FP_BENCH_DEBUG) console.error(JSON.stringify(counts));
    const checkpoints = counts?.completed ?? 0;
    // With checkpointing, the JobManager triggers the final checkpoint the moment the last subtask reports the end of its input:
    // its trigger time is when every record had been processed. Without checkpointing that is when the last subtask finished.
    const finalTrigger = checkpoints > 0 ? Math.max(...(cpStats?.history ?? []).filter((c) => c.status === 'COMPLETED').map((c) => c.trigger_timestamp)) : end;
    const processed = Math.min(end, finalTrigger);
    const tmCpu = procs.slice(1).map((p) => cpuSeconds(p.child.pid!));
    return {
      taskTimes,
      tmCpu,
      threads: threadShares(samples, start0, end),
      rate: records / ((end - start0) / 1000),
      seconds: (end - start0) / 1000,
      processedRate: records / ((processed - start0) / 1000),
      finalCheckpointSeconds: (end - processed) / 1000,
      peakRss,
      checkpoints,
      traces,
    };
  } finally {
    for (const p of procs.reverse()) p.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The best of three runs: the baseline is taken at its fastest, so load from other processes cannot flatter the ratio. */
function best(run: (n: number) => number, n: number): number {
  run(Math.min(n, 200_000));
  return Math.max(run(n), run(n), run(n));
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const mb = (b: number) => `${Math.round(b / 1048576)} MB`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function main(): Promise<void> {
  console.log(`engine-throughput: ${fmt(RECORDS)} records per run`);
  const keyedJob = join(ROOT, 'bench/engine-throughput/jobs/keyed.ts');
  // (a) and (b): each rep measures the baselines again beside one engine run, so every ratio comes from one run.
  if (ONLY === undefined || ONLY === 'a') {
    for (let rep = 1; rep <= REPS; rep++) {
      const bareA = best(bareChained, RECORDS);
      const batchedA = best(batchedChained, RECORDS);
      await nodeStreamsChained(Math.min(RECORDS, 200_000));
      const streamsA = Math.max(await nodeStreamsChained(RECORDS), await nodeStreamsChained(RECORDS), await nodeStreamsChained(RECORDS));
      const a = await engineRun(join(ROOT, 'bench/engine-throughput/jobs/chained.ts'), `--limit ${RECORDS}`, 1, 1, RECORDS);
      console.log(`(a) rep ${rep} chained stateless, 1 TaskManager:     engine ${fmt(a.rate)} rec/s   fused loop ${fmt(bareA)} rec/s   ratio ${((100 * a.rate) / bareA).toFixed(1)} % (target >= 25 %)   TM peak RSS ${a.peakRss.map(mb).join(', ')}`);
      console.log(`    same work, records batched (1000):           loop ${fmt(batchedA)} rec/s   ratio ${((100 * a.rate) / batchedA).toFixed(1)} %`);
      console.log(`    same work, Node object-mode streams:         stream.pipeline ${fmt(streamsA)} rec/s   engine / streams ${(a.rate / streamsA).toFixed(2)}x (target >= 3x)`);
    }
  }
  if (ONLY === undefined || ONLY === 'b') {
    for (let rep = 1; rep <= REPS; rep++) {
      const bareB = best(bareKeyed, RECORDS);
      const b = await engineRun(keyedJob, `--limit ${RECORDS} --partitions 2`, 2, 2, RECORDS);
      console.log(`(b) rep ${rep} keyed count, shuffle across 2 TMs:    engine ${fmt(b.rate)} rec/s   bare loop ${fmt(bareB)} rec/s   ratio ${((100 * b.rate) / bareB).toFixed(1)} % (target >= 30 %)   TM peak RSS ${b.peakRss.map(mb).join(', ')}   TM CPU ${b.tmCpu.map((x) => x.toFixed(2)).join(' + ')} s`);
      // Where the tasks' time went (as of the TaskManagers' last heartbeat before the end, so a sample of the run).
      console.log(`    task time, sources: ${shares(b.taskTimes[0]!)}   keyed: ${shares(b.taskTimes[1] ?? { busy: 0, idle: 0, backpressured: 0 })}`);
      // Each TaskManager's main thread over the run: on a CPU, and waiting for one (load from other processes).
      console.log(`    TM main threads over the run: ${b.threads.map((x) => `on CPU ${(100 * x.run).toFixed(0)} % / waiting for a CPU ${(100 * x.wait).toFixed(0)} %`).join(';  ')}`);
    }
  }
  if (ONLY !== undefined && ONLY !== 'c') return;
  const cases: Array<{ name: string; job: string; args: string; parallelism: number }> = [
    { name: '(b) keyed shuffle, 2 TMs', job: keyedJob, args: `--limit ${RECORDS} --partitions 2`, parallelism: 2 },
    { name: '(a) chained, 1 TM', job: join(ROOT, 'bench/engine-throughput/jobs/chained.ts'), args: `--limit ${RECORDS}`, parallelism: 1 },
  ];
  const only = argv.includes('--case') ? argv[argv.indexOf('--case') + 1] : undefined;
  for (const c of cases.filter((x) => only === undefined || x.name.includes(only))) {
    const ratios: number[] = [];
    const processedRatios: number[] = [];
    const pauses: number[] = [];
    for (let rep = 1; rep <= REPS; rep++) {
      // Alternate which runs first so a drift in machine load does not favour one side.
      const first = rep % 2 === 1 ? 'without' : 'with';
      const runs: Record<string, Awaited<ReturnType<typeof engineRun>>> = {};
      for (const which of first === 'without' ? ['without', 'with'] : ['with', 'without']) {
        runs[which] = await engineRun(c.job, `${c.args}${which === 'with' ? ' --checkpoint-interval 1000' : ''}`, c.parallelism, c.parallelism, RECORDS);
      }
      const w = runs.with!;
      const ratio = w.rate / runs.without!.rate;
      // A run in which no checkpoint completed measures nothing about checkpoint cost: leave it out.
      if (w.checkpoints > 0) {
        ratios.push(ratio);
        processedRatios.push(w.processedRate / runs.without!.processedRate);
      }
      console.log(`(c) ${c.name}, rep ${rep}: with 1 s checkpoints ${fmt(w.rate)} rec/s   without ${fmt(runs.without!.rate)} rec/s   ratio ${(100 * ratio).toFixed(1)} %   ${w.checkpoints} checkpoints completed (the last one final)   run ${w.seconds.toFixed(2)} s vs ${runs.without!.seconds.toFixed(2)} s   TM peak RSS ${w.peakRss.map(mb).join(', ')}`);
      console.log(`    per checkpoint (worst subtask): ${describeTraces(w.traces)}`);
      console.log(`    to the end of input (the final checkpoint's trigger): with ${fmt(w.processedRate)} rec/s   without ${fmt(runs.without!.processedRate)} rec/s   ratio ${((100 * w.processedRate) / runs.without!.processedRate).toFixed(1)} %   final checkpoint ${(1000 * w.finalCheckpointSeconds).toFixed(0)} ms   TM CPU s (whole process) ${w.tmCpu.map((x) => x.toFixed(2)).join(', ')} vs ${runs.without!.tmCpu.map((x) => x.toFixed(2)).join(', ')}`);
      for (const cp of byCheckpoint(w.traces).values()) pauses.push(Math.max(...cp.map((t) => t.syncMs)));
    }
    if (ratios.length === 0) console.log(`(c) ${c.name}: no run completed a checkpoint: no ratio`);
    else console.log(`(c) ${c.name}: median ratio over the ${ratios.length} of ${REPS} pairs whose checkpointed run completed checkpoints: ${(100 * median(ratios)).toFixed(1)} % (target >= 90 %), to the end of input ${(100 * median(processedRatios)).toFixed(1)} %; task pause (sync part) per checkpoint: median ${median(pauses).toFixed(2)} ms, max ${Math.max(...pauses).toFixed(2)} ms`);
  }
}

function byCheckpoint(traces: CheckpointTrace[]): Map<number, CheckpointTrace[]> {
  const m = new Map<number, CheckpointTrace[]>();
  for (const t of traces) m.set(t.checkpointId, [...(m.get(t.checkpointId) ?? []), t]);
  return new Map([...m].sort((a, b) => a[0] - b[0]));
}

/**
 * One line per run: over its checkpoints, the worst subtask's sync pause / alignment / source
 * start delay / async write, each as median and max in ms (the final checkpoint included).
 */
function describeTraces(traces: CheckpointTrace[]): string {
  if (traces.length === 0) return 'none traced';
  const cps = [...byCheckpoint(traces).values()];
  const stat = (f: (t: CheckpointTrace) => number) => {
    const worst = cps.map((ts) => Math.max(...ts.map(f)));
    return `${median(worst).toFixed(2)} / ${Math.max(...worst).toFixed(1)}`;
  };
  return `${cps.length} checkpoints traced, median / max ms: sync pause ${stat((t) => t.syncMs)}   alignment ${stat((t) => t.alignmentMs)}   source start delay ${stat((t) => t.startDelayMs)}   state file write ${stat((t) => t.asyncMs)}`;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
