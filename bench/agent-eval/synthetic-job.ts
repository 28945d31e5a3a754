/**
 * A synthetic Flink job for the agent-evaluation benchmark: V vertices × P subtasks spread over
 * TaskManagers of 8 slots each (slot sharing: subtask i of every vertex runs in slot i), one
 * JobManager, and the flowpilot agent's own metrics, rendered as Flink's Prometheus reporter
 * renders them (names, label sets, `{…,}` trailing commas, Java `Double.toString` values). Each
 * target is one exposition endpoint, as each Flink process has its own reporter port.
 *
 * Values are deterministic for a seed and change on every scrape: each target counts the
 * requests it answered (its tick), counters grow by about rate × interval per tick, gauges
 * jitter around a per-vertex load profile. The profile puts some vertices above 90 % busy, some
 * back-pressured, one source lagging and one TaskManager short of heap, so every rule of the
 * default pack selects data and several alerts are pending. No I/O here (server.ts serves it).
 */

export interface SyntheticJobOptions {
  vertices: number;
  subtasks: number;
  /** Slots per TaskManager; TaskManagers = ceil(subtasks / slots). Default 8. */
  slotsPerTaskManager?: number;
  seed?: number;
  /** The scrape interval the counters are scaled to (ms). */
  intervalMs: number;
}

/** One exposition endpoint: a TaskManager, the JobManager, or the agent itself. */
export interface SyntheticTarget {
  /** `jobmanager`, `taskmanager-3`, `flowpilot`. */
  name: string;
  /** The Prometheus `job` label the benchmark scrapes it under. */
  job: 'flink' | 'flowpilot';
  /** Number of sample lines each scrape returns. */
  readonly seriesCount: number;
  /** The exposition body for one tick (a tick is one answered scrape). */
  render(tick: number): string;
}

interface Series {
  prefix: string;
  value: (tick: number) => number;
}

interface Family {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  series: Series[];
}

/** splitmix32-style mixing: a uniform [0, 1) for any tuple of integers. */
export function unit(...xs: number[]): number {
  let h = 0x9e3779b9;
  for (const x of xs) {
    h = Math.imul(h ^ (x | 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  h ^= h >>> 12;
  return (h >>> 0) / 4294967296;
}

function hex32(...xs: number[]): string {
  let s = '';
  for (let i = 0; i < 4; i++) s += Math.floor(unit(...xs, i) * 0x100000000).toString(16).padStart(8, '0');
  return s;
}

/** Java's Double.toString as simpleclient 0.8 writes it: `7.0`, `2.15482368E8`, `1.0E-4`, `NaN`, `+Inf`. */
export function javaDouble(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const a = Math.abs(v);
  if (a === 0 || (a >= 1e-3 && a < 1e7)) return Number.isInteger(v) ? `${v}.0` : String(v);
  const [mant, exp] = v.toExponential().split('e') as [string, string];
  return `${mant.includes('.') ? mant : `${mant}.0`}E${exp.startsWith('+') ? exp.slice(1) : exp}`;
}

function labelText(labels: Record<string, string>): string {
  if (Object.keys(labels).length === 0) return '';
  let s = '{';
  for (const k in labels) s += `${k}="${labels[k]}",`;
  return `${s}}`;
}

class FamilySet {
  readonly families = new Map<string, Family>();
  add(name: string, scope: string, labels: Record<string, string>, value: (tick: number) => number): void {
    let f = this.families.get(name);
    if (f === undefined) {
      const help = name.startsWith('flink_') ? `${name.slice(`flink_${scope}_`.length)} (scope: ${scope})` : name;
      // Flink's reporter exports counters as gauges; prom-client (the agent's own metrics) as counters.
      f = { name, help, type: name.startsWith('flink_') || !name.endsWith('_total') ? 'gauge' : 'counter', series: [] };
      this.families.set(name, f);
    }
    f.series.push({ prefix: `${name}${labelText(labels)} `, value });
  }
}

function target(name: string, job: SyntheticTarget['job'], set: FamilySet): SyntheticTarget {
  const families = [...set.families.values()];
  let count = 0;
  for (const f of families) count += f.series.length;
  return {
    name,
    job,
    seriesCount: count,
    render(tick: number): string {
      const parts: string[] = [];
      for (const f of families) {
        parts.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`);
        for (const s of f.series) parts.push(s.prefix + javaDouble(s.value(tick)));
      }
      parts.push('');
      return parts.join('\n');
    },
  };
}

type VertexKind = 'source' | 'bottleneck' | 'backpressured' | 'idle' | 'normal';

interface Vertex {
  index: number;
  kind: VertexKind;
  id: string;
  name: string;
  operatorId: string;
  operatorName: string;
  /** Records per second per subtask. */
  rate: number;
  busy: number;
  backPressured: number;
  recordBytes: number;
}

function vertexKind(seed: number, v: number, sources: number): VertexKind {
  if (v < sources) return 'source';
  const r = unit(seed, 11, v);
  if (r < 0.1) return 'bottleneck';
  if (r < 0.22) return 'backpressured';
  if (r < 0.36) return 'idle';
  return 'normal';
}

function buildVertices(seed: number, count: number): Vertex[] {
  const sources = Math.max(1, Math.floor(count / 16));
  const out: Vertex[] = [];
  for (let v = 0; v < count; v++) {
    const kind = vertexKind(seed, v, sources);
    const u = unit(seed, 12, v);
    const [busy, bp] =
      kind === 'bottleneck' ? [920 + 60 * u, 5]
        : kind === 'backpressured' ? [220 + 150 * u, 560 + 100 * u]
          : kind === 'idle' ? [60 + 100 * u, 10]
            : kind === 'source' ? [300 + 300 * u, 80 * u]
              : [300 + 500 * u, 90 * u];
    const op = kind === 'source' ? `Source:_Kafka_Source_${v}` : `${['Map', 'Filter', 'KeyedProcess', 'Window_Aggregate', 'FlatMap'][v % 5]}_${v}`;
    out.push({
      index: v,
      kind,
      id: hex32(seed, 1, v),
      name: kind === 'source' ? `${op}____Map` : op,
      operatorId: hex32(seed, 2, v),
      operatorName: op,
      rate: Math.round(500 + 9500 * unit(seed, 13, v)),
      busy,
      backPressured: bp,
      recordBytes: Math.round(80 + 400 * unit(seed, 14, v)),
    });
  }
  return out;
}

/** A counter that grows by about rate × interval each tick, never backwards. */
function counter(ratePerTick: number, ...key: number[]): (tick: number) => number {
  return (tick) => Math.floor(ratePerTick * tick + 0.4 * ratePerTick * unit(...key, tick));
}

/**
 * A rate as Flink's MeterView computes it over a counter (numRecordsInPerSecond and the like):
 * the count now minus the count one time span (60 s) before, divided by the span in seconds,
 * so always a whole count over 60. The counter is read before tick 0 too (the job ran before
 * the first scrape), which keeps the first minute's rates at the steady level.
 */
function meterRate(count: (tick: number) => number, intervalMs: number): (tick: number) => number {
  const spanTicks = Math.max(1, Math.round(60_000 / intervalMs));
  const spanSeconds = (spanTicks * intervalMs) / 1000;
  return (tick) => (count(tick) - count(tick - spanTicks)) / spanSeconds;
}

/** A gauge that jitters by ±spread around base each tick. */
function jitter(base: number, spread: number, ...key: number[]): (tick: number) => number {
  return (tick) => Math.round(base + spread * (2 * unit(...key, tick) - 1));
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

export interface SyntheticJob {
  targets: SyntheticTarget[];
  /** Sample lines per full round of scrapes (all targets). */
  seriesCount: number;
  jobId: string;
  jobName: string;
}

/** Builds the job's targets: every TaskManager, the JobManager, then the agent's own endpoint. */
export function syntheticJob(opts: SyntheticJobOptions): SyntheticJob {
  const seed = opts.seed ?? 1;
  const slots = opts.slotsPerTaskManager ?? 8;
  const tms = Math.max(1, Math.ceil(opts.subtasks / slots));
  const perTick = opts.intervalMs / 1000;
  const jobId = hex32(seed, 3);
  const jobName = 'orders_enrichment';
  const graphId = hex32(seed, 4);
  const vertices = buildVertices(seed, opts.vertices);
  const targets: SyntheticTarget[] = [];

  for (let tm = 0; tm < tms; tm++) {
    const host = `10_0_1_${tm + 10}`;
    const tmId = `${host}:6122_${hex32(seed, 5, tm).slice(0, 6)}`;
    const set = new FamilySet();
    const tmLabels = { host, tm_id: tmId };
    const heapMax = 1_073_741_824;
    // TaskManager 0 is short of heap and spends > 100 ms/s in GC.
    const heapUse = tm === 0 ? 0.95 : 0.35 + 0.3 * unit(seed, 20, tm);
    const gcPerSec = tm === 0 ? 180 : 8 + 20 * unit(seed, 21, tm);
    const tmv = (name: string, f: (tick: number) => number): void => set.add(`flink_taskmanager_Status_${name}`, 'taskmanager_Status', tmLabels, f);
    tmv('JVM_Memory_Heap_Used', (t) => Math.round(heapMax * clamp(heapUse + 0.03 * (unit(seed, 22, tm, t) - 0.5), 0, 1)));
    tmv('JVM_Memory_Heap_Committed', () => heapMax);
    tmv('JVM_Memory_Heap_Max', () => heapMax);
    tmv('JVM_Memory_NonHeap_Used', jitter(150_000_000, 5_000_000, seed, 23, tm));
    tmv('JVM_Memory_NonHeap_Committed', () => 180_000_000);
    tmv('JVM_Memory_NonHeap_Max', () => -1);
    tmv('JVM_Memory_Metaspace_Used', jitter(90_000_000, 1_000_000, seed, 24, tm));
    tmv('JVM_Memory_Direct_MemoryUsed', jitter(120_000_000, 4_000_000, seed, 25, tm));
    tmv('JVM_GarbageCollector_All_Time', counter(gcPerSec * perTick, seed, 26, tm));
    tmv('JVM_GarbageCollector_All_Count', counter(2 * perTick, seed, 27, tm));
    tmv('JVM_GarbageCollector_G1_Young_Generation_Time', counter(gcPerSec * 0.8 * perTick, seed, 28, tm));
    tmv('JVM_GarbageCollector_G1_Young_Generation_Count', counter(2 * perTick, seed, 29, tm));
    tmv('JVM_GarbageCollector_G1_Old_Generation_Time', counter(gcPerSec * 0.2 * perTick, seed, 30, tm));
    tmv('JVM_GarbageCollector_G1_Old_Generation_Count', counter(0.1 * perTick, seed, 31, tm));
    tmv('JVM_CPU_Load', (t) => clamp(0.4 + 0.5 * unit(seed, 32, tm, t), 0, 1));
    tmv('JVM_CPU_Time', counter(1e9 * perTick, seed, 33, tm));
    tmv('JVM_Threads_Count', jitter(120, 5, seed, 34, tm));
    tmv('JVM_ClassLoader_ClassesLoaded', () => 11_000);
    tmv('Shuffle_Netty_AvailableMemorySegments', jitter(2_000, 300, seed, 35, tm));
    tmv('Shuffle_Netty_TotalMemorySegments', () => 4_096);
    tmv('Flink_Memory_Managed_Used', jitter(200_000_000, 20_000_000, seed, 36, tm));
    tmv('Flink_Memory_Managed_Total', () => 536_870_912);

    for (let s = tm * slots; s < Math.min(opts.subtasks, (tm + 1) * slots); s++) {
      for (const v of vertices) {
        const k = [seed, v.index, s];
        const labels = {
          host, tm_id: tmId, job_id: jobId, job_name: jobName, task_id: v.id, task_name: v.name,
          task_attempt_id: `${graphId}_${v.id}_${s}_0`, task_attempt_num: '0', subtask_index: String(s),
        };
        const opLabels = { ...labels, operator_id: v.operatorId, operator_name: v.operatorName };
        const busy = (t: number): number => clamp(Math.round(v.busy + 40 * (unit(...k, 40, t) - 0.5)), 0, 1000);
        const bp = (t: number): number => clamp(Math.round(v.backPressured + 40 * (unit(...k, 41, t) - 0.5)), 0, 1000 - busy(t));
        const rate = v.rate * (0.8 + 0.4 * unit(...k, 42));
        const out = v.kind === 'source' || v.index % 5 !== 1 ? 1 : 0.6;
        const task = (name: string, f: (tick: number) => number): void => set.add(`flink_taskmanager_job_task_${name}`, 'taskmanager_job_task', labels, f);
        const op = (name: string, f: (tick: number) => number): void => set.add(`flink_taskmanager_job_task_operator_${name}`, 'taskmanager_job_task_operator', opLabels, f);
        task('busyTimeMsPerSecond', busy);
        task('backPressuredTimeMsPerSecond', bp);
        task('idleTimeMsPerSecond', (t) => 1000 - busy(t) - bp(t));
        task('isBackPressured', (t) => (bp(t) > 500 ? 1 : 0));
        const recordsIn = counter(rate * perTick, ...k, 43);
        const recordsOut = counter(rate * out * perTick, ...k, 44);
        task('numRecordsIn', recordsIn);
        task('numRecordsOut', recordsOut);
        task('numRecordsInPerSecond', meterRate(recordsIn, opts.intervalMs));
        task('numRecordsOutPerSecond', meterRate(recordsOut, opts.intervalMs));
        task('numBytesIn', counter(rate * v.recordBytes * perTick, ...k, 47));
        task('numBytesOut', counter(rate * out * v.recordBytes * perTick, ...k, 48));
        op('numRecordsIn', counter(rate * perTick, ...k, 43));
        op('numRecordsOut', counter(rate * out * perTick, ...k, 44));
        if (v.kind === 'source') {
          // Source 0 falls behind: its backlog grows and its watermark lags by 15 minutes.
          const lagging = v.index === 0;
          op('pendingRecords', (t) => Math.round((lagging ? 20_000 + 3_000 * t : 500) * (0.9 + 0.2 * unit(...k, 49, t))));
          op('currentOutputWatermark', (t) => Date.now() - (lagging ? 900_000 : 2_000) - Math.round(1_000 * unit(...k, 50, t)));
        }
      }
    }
    targets.push(target(`taskmanager-${tm}`, 'flink', set));
  }

  const jm = new FamilySet();
  const jmHost = 'flink_jobmanager';
  const jobLabels = { host: jmHost, job_id: jobId, job_name: jobName };
  const job = (name: string, f: (tick: number) => number): void => jm.add(`flink_jobmanager_job_${name}`, 'jobmanager_job', jobLabels, f);
  const cluster = (name: string, f: (tick: number) => number): void => jm.add(`flink_jobmanager_${name}`, 'jobmanager', { host: jmHost }, f);
  const step = (every: number) => (t: number): number => Math.floor(t / every);
  job('uptime', (t) => 3_600_000 + t * opts.intervalMs);
  job('downtime', () => 0);
  job('restartingTime', () => 0);
  job('numRestarts', step(3));
  job('fullRestarts', step(3));
  job('numberOfCompletedCheckpoints', step(2));
  job('numberOfFailedCheckpoints', step(5));
  job('numberOfInProgressCheckpoints', (t) => t % 2);
  job('totalNumberOfCheckpoints', (t) => step(2)(t) + step(5)(t) + (t % 2));
  job('lastCheckpointDuration', jitter(12_000, 3_000, seed, 60));
  job('lastCheckpointSize', jitter(2_000_000_000, 100_000_000, seed, 61));
  job('lastCheckpointFullSize', jitter(2_000_000_000, 100_000_000, seed, 62));
  job('lastCheckpointRestoreTimestamp', () => -1);
  cluster('numRegisteredTaskManagers', () => tms);
  cluster('numRunningJobs', () => 1);
  cluster('taskSlotsTotal', () => tms * slots);
  cluster('taskSlotsAvailable', () => tms * slots - Math.min(tms * slots, opts.subtasks));
  cluster('Status_JVM_Memory_Heap_Used', jitter(300_000_000, 20_000_000, seed, 63));
  cluster('Status_JVM_Memory_Heap_Max', () => 1_073_741_824);
  cluster('Status_JVM_GarbageCollector_All_Time', counter(5 * perTick, seed, 64));
  targets.push(target('jobmanager', 'flink', jm));

  const agent = new FamilySet();
  const groups = ['rules/flink-alerts.yml;flink-job-health', 'rules/flink-alerts.yml;flink-throughput', 'rules/flink-recording.yml;flink-recording'];
  agent.add('flowpilot_rules_last_reload_success', 'flowpilot', {}, () => 1);
  for (const [i, g] of groups.entries()) agent.add('flowpilot_rule_evaluation_failures_total', 'flowpilot', { rule_group: g }, i === 0 ? step(4) : () => 0);
  agent.add('flowpilot_notifications_dropped_total', 'flowpilot', {}, () => 0);
  agent.add('flowpilot_notifications_errors_total', 'flowpilot', { receiver: 'alertmanager' }, step(6));
  agent.add('flowpilot_notifications_errors_total', 'flowpilot', { receiver: 'webhook' }, () => 0);
  targets.push(target('flowpilot', 'flowpilot', agent));

  let seriesCount = 0;
  for (const t of targets) seriesCount += t.seriesCount;
  return { targets, seriesCount, jobId, jobName };
}
