/**
 * How Flink's Prometheus reporter names things (research/flink-api.md §3), applied to metric ids
 * read over REST, so a sample collected from REST has the same name and the same key labels as
 * the one a real Flink reporter would expose: `flink_<logical scope>_<metric>` with every
 * character outside [a-zA-Z0-9:_] replaced by `_`, and label values filtered the same way.
 *
 * Also which REST ids are task-scope and which are operator-scope (`<operator>.<metric>`), and
 * the curated metric lists the collector reads per subtask.
 */

/** The reporter's CHARACTER_FILTER: every disallowed character becomes '_' (not removed). */
export function charFilter(s: string): string {
  return s.replace(/[^a-zA-Z0-9:_]/g, '_');
}

export type ReporterScope = 'jobmanager' | 'jobmanager_job' | 'taskmanager' | 'taskmanager_job' | 'taskmanager_job_task' | 'taskmanager_job_task_operator';

/** `flink_<scope>_<id>` with the id's groups joined by '_' (dots and other characters filtered). */
export function reporterName(scope: ReporterScope, metricId: string): string {
  return `flink_${scope}_${charFilter(metricId)}`;
}

/** Task-scope metric groups whose ids contain dots but are not operator metrics. */
const TASK_GROUPS = new Set(['Shuffle', 'buffers', 'Network']);

export interface TaskMetricId {
  /** Operator name as REST writes it (' ', '.', ':', ',' already replaced by '_'), or null for task scope. */
  operator: string | null;
  /** The metric path below the task or operator. */
  metric: string;
}

/** Splits a subtask-store id into task or operator scope. */
export function classifyTaskMetricId(id: string): TaskMetricId {
  const dot = id.indexOf('.');
  if (dot < 0) return { operator: null, metric: id };
  const head = id.slice(0, dot);
  if (TASK_GROUPS.has(head)) return { operator: null, metric: id };
  return { operator: head, metric: id.slice(dot + 1) };
}

/** Task-scope metrics read per subtask (the ones rules, dashboards and the autoscaler use). */
export const TASK_METRICS: readonly string[] = [
  'numRecordsIn', 'numRecordsOut', 'numRecordsInPerSecond', 'numRecordsOutPerSecond',
  'numBytesIn', 'numBytesOut', 'numBytesInPerSecond', 'numBytesOutPerSecond',
  'busyTimeMsPerSecond', 'backPressuredTimeMsPerSecond', 'idleTimeMsPerSecond',
  'softBackPressuredTimeMsPerSecond', 'hardBackPressuredTimeMsPerSecond', 'isBackPressured',
  'accumulateBusyTimeMs', 'accumulateBackPressuredTimeMs', 'accumulateIdleTimeMs',
  'currentInputWatermark', 'checkpointAlignmentTime', 'checkpointStartDelayNanos', 'mailboxQueueSize',
  'Shuffle.Netty.Input.Buffers.inPoolUsage', 'Shuffle.Netty.Input.Buffers.inputQueueLength',
  'Shuffle.Netty.Output.Buffers.outPoolUsage', 'Shuffle.Netty.Output.Buffers.outputQueueLength',
  'buffers.inPoolUsage', 'buffers.outPoolUsage',
];

/** Operator-scope metrics read per subtask (matched on the part after the operator name). */
export const OPERATOR_METRICS: readonly string[] = [
  'numRecordsIn', 'numRecordsOut', 'numRecordsInPerSecond', 'numRecordsOutPerSecond',
  'pendingRecords', 'pendingBytes', 'currentEmitEventTimeLag', 'currentFetchEventTimeLag',
  'watermarkLag', 'sourceIdleTime', 'currentInputWatermark', 'currentOutputWatermark',
  'numLateRecordsDropped', 'numRecordsInErrors',
];

const TASK_SET = new Set(TASK_METRICS);
const OPERATOR_SET = new Set(OPERATOR_METRICS);

/** Whether a subtask-store id is one the collector reads per subtask. */
export function isCollectedTaskMetric(id: string): boolean {
  const c = classifyTaskMetricId(id);
  return c.operator === null ? TASK_SET.has(c.metric) : OPERATOR_SET.has(c.metric);
}

/** REST expands histograms into these suffixes; the reporter exports a summary with these quantiles. */
const HISTOGRAM_QUANTILES: ReadonlyArray<readonly [string, string]> = [
  ['_median', '0.5'], ['_p75', '0.75'], ['_p95', '0.95'], ['_p98', '0.98'], ['_p99', '0.99'], ['_p999', '0.999'],
];
const HISTOGRAM_ONLY_SUFFIXES = ['_min', '_max', '_mean', '_stddev', '_p90'];

export interface MappedId {
  /** The metric id without a histogram suffix. */
  base: string;
  /** The summary quantile when the id is one of a histogram's expansions. */
  quantile?: string;
  /** True for histogram expansions the reporter does not export (min, max, mean, stddev, p90). */
  drop?: boolean;
}

/**
 * Maps ids from one metric listing, folding histogram expansions (an id family that has both
 * `_median` and `_p99`) into summary quantiles as the reporter exports them.
 */
export function mapMetricIds(ids: readonly string[]): Map<string, MappedId> {
  const all = new Set(ids);
  const out = new Map<string, MappedId>();
  for (const id of ids) {
    let mapped: MappedId = { base: id };
    for (const [suffix, q] of HISTOGRAM_QUANTILES) {
      if (id.endsWith(suffix)) {
        const base = id.slice(0, -suffix.length);
        if (all.has(`${base}_median`) && all.has(`${base}_p99`)) mapped = { base, quantile: q };
      }
    }
    for (const suffix of HISTOGRAM_ONLY_SUFFIXES) {
      if (id.endsWith(suffix)) {
        const base = id.slice(0, -suffix.length);
        if (all.has(`${base}_median`) && all.has(`${base}_p99`)) mapped = { base, drop: true };
      }
    }
    out.set(id, mapped);
  }
  return out;
}

/** Host part of a TaskManager's RPC path (`pekko.tcp://flink@172.18.0.4:6122/user/...`) or of its id. */
export function taskManagerHost(path: string | undefined, id: string): string {
  const m = /@([^:/]+)[:/]/.exec(path ?? '');
  if (m) return m[1]!;
  const idm = /^(.+?):\d+-[0-9a-f]{6}$/.exec(id);
  return idm ? idm[1]! : '';
}

/**
 * The source partition one metric id stands for, or null. The rules are the operator's
 * (PartitionMetricNameParser, used by ScalingMetricCollector; MetricsCollectionAndEvaluationTest
 * checks them): ids are split on '.', since REST replaces dots inside a name component by '_'.
 *  - Kafka: `...[.kafkaCluster.<cluster>].KafkaSourceReader.topic.<topic>.partition.<n>.currentOffset`,
 *    keyed by cluster, topic and partition, so the dynamic Kafka source's clusters count apart.
 *    Any `<x>SourceReader` qualifies, so the flowpilot engine's generator counts the same way.
 *  - Pulsar: `...PulsarConsumer.<topic>-partition-<n>.<consumer>.numMsgsReceived`, keyed by topic
 *    and partition (one partition may show under several consumer hashes).
 * Linear in the id's length: the ids come from the job.
 */
export function sourcePartitionKey(id: string): string | null {
  const parts = id.split('.');
  const n = parts.length;
  if (
    n >= 6 &&
    parts[n - 1] === 'currentOffset' &&
    parts[n - 3] === 'partition' &&
    parts[n - 5] === 'topic' &&
    parts[n - 6]!.endsWith('SourceReader') &&
    isDigits(parts[n - 2]!)
  ) {
    const cluster = n >= 8 && parts[n - 8] === 'kafkaCluster' ? parts[n - 7]! : '';
    return `kafka\u0000${cluster}\u0000${parts[n - 4]}\u0000${parts[n - 2]}`;
  }
  if (n >= 3 && parts[n - 1] === 'numMsgsReceived') {
    const at = parts.indexOf('PulsarConsumer');
    if (at < 0 || at + 1 >= n - 1) return null;
    const segment = parts[at + 1]!;
    const cut = segment.lastIndexOf('-partition-');
    if (cut <= 0) return null;
    const partition = segment.slice(cut + '-partition-'.length);
    return isDigits(partition) ? `pulsar\u0000${segment.slice(0, cut)}\u0000${partition}` : null;
  }
  return null;
}

function isDigits(s: string): boolean {
  return /^[0-9]+$/.test(s);
}

/** Vertices without inputs in the job plan: the sources. */
export function sourceVertexIds(details: { vertices: Array<{ id: string }>; plan?: { nodes?: Array<{ id: string; inputs?: unknown[] }> } }): Set<string> {
  const nodes = new Map((details.plan?.nodes ?? []).map((n) => [n.id, n]));
  return new Set(details.vertices.filter((v) => (nodes.get(v.id)?.inputs ?? []).length === 0).map((v) => v.id));
}
