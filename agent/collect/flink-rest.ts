/**
 * The Flink REST collector. One `collect()` reads the cluster the way the Flink autoscaler does
 * (jobs overview, job graph and plan, vertex subtask metrics with `agg=`, checkpoints, TaskManagers
 * and their metrics, JobManager metrics) and returns:
 *  - samples named and labelled as Flink's Prometheus reporter would expose them
 *    (`flink_taskmanager_job_task_busyTimeMsPerSecond{job_id,job_name,task_id,task_name,subtask_index,tm_id,host,...}`,
 *    `flink_jobmanager_job_lastCheckpointDuration{job_id,job_name,host}`, ...), so one rule pack
 *    works on REST-collected and on scraped data;
 *  - one JobObservation per running job for the autoscaler (observation.ts).
 *
 * Used through `FlinkRestSource`, a TargetSource, so the scrape loop adds `job`/`instance`, `up`,
 * `scrape_duration_seconds` and staleness exactly as for an exposition endpoint. A failure of
 * /jobs/overview fails the whole collection (up 0); a failure of one job's or vertex's request
 * only drops that part and is counted as a skipped value.
 */
import type { Logger } from '../../common/log.ts';
import { silentLogger } from '../../common/log.ts';
import { errorMessage, FlowpilotError } from '../../common/errors.ts';
import type { ParsedSample } from './prometheus-text.ts';
import type { SourceResult, TargetSource } from './target.ts';
import { FlinkRestClient, isFlinkRestError, metricNumber, type AggregatedMetric, type MetricValue } from '../flink/rest-client.ts';
import { charFilter, classifyTaskMetricId, isCollectedTaskMetric, mapMetricIds, reporterName, sourcePartitionKey, sourceVertexIds, taskManagerHost, type ReporterScope } from './flink-names.ts';
import {
  TERMINAL_JOB_STATES,
  type CheckpointingStatistics,
  type ClusterOverview,
  type JobDetails,
  type JobsOverview,
  type TaskManagersInfo,
  type VertexDetails,
} from '../flink/rest-types.ts';
import { buildJobObservation, type JobObservationInput, type VertexFigures } from './observation.ts';

export interface FlinkCollectResult {
  samples: ParsedSample[];
  observations: JobObservationInput[];
  /** Every job in /jobs/overview, terminal ones included (for recovery logic). */
  jobs: Array<{ id: string; name: string; state: string }>;
  /** Requests that failed without failing the whole collection. */
  errors: string[];
}

export interface FlinkRestCollectorOptions {
  client: FlinkRestClient;
  /** Read per-subtask task and operator metrics (series with subtask_index). Default true. */
  perSubtaskMetrics?: boolean;
  /** Re-list available metric ids every N collections (lists are cached between). Default 10. */
  listRefreshCycles?: number;
  /**
   * Read each TaskManager's Status metrics (series with tm_id; the TaskManager aggregates are then
   * computed from them). False: one aggregated /taskmanagers/metrics request, no per-TaskManager
   * series (for a collection whose samples are not kept). Default true.
   */
  taskManagerSamples?: boolean;
  now?: () => number;
  logger?: Logger;
}

const VERTEX_AGG_METRICS = ['numRecordsIn', 'numRecordsOut', 'busyTimeMsPerSecond', 'backPressuredTimeMsPerSecond', 'idleTimeMsPerSecond'];
const TM_AGG_METRICS = ['Status.JVM.Memory.Heap.Used', 'Status.JVM.Memory.Heap.Max', 'Status.JVM.GarbageCollector.All.TimeMsPerSecond', 'Status.JVM.CPU.Load'];
const AGGS = ['min', 'max', 'avg', 'sum'];
/** JobManager gauges of the cluster, taken from /taskmanagers and /jobs/overview when the JobManager does not list them. */
const CLUSTER_GAUGES = ['numRegisteredTaskManagers', 'taskSlotsTotal', 'taskSlotsAvailable', 'numRunningJobs'] as const;
/** The job gauges (CheckpointStatsTracker's) that move whenever a checkpoint starts, completes or fails. */
const CHECKPOINT_COUNTS = ['totalNumberOfCheckpoints', 'numberOfCompletedCheckpoints', 'numberOfFailedCheckpoints'];
/** What every live vertex lists once it runs (ScalingMetricCollector requires busyTimeMsPerSecond). */
const REQUIRED_VERTEX_METRICS = ['busyTimeMsPerSecond', 'numRecordsIn', 'numRecordsOut'];
/** The source operator's own record counters (`Source__<name>.numRecordsIn` / `.numRecordsOut`). */
const SOURCE_OPERATOR_IO = /^Source__.*\.numRecords(In|Out)$/;

type Labels = Record<string, string>;

class SampleSink {
  readonly samples: ParsedSample[] = [];
  add(name: string, labels: Labels, value: number): void {
    this.samples.push({ name, labels: { ...labels, __name__: name }, value });
  }
  has(name: string): boolean {
    return this.samples.some((s) => s.name === name);
  }
}

export class FlinkRestCollector {
  readonly client: FlinkRestClient;
  private readonly perSubtask: boolean;
  private readonly refreshCycles: number;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly host: string;
  private readonly tmSamples: boolean;
  private cycle = 0;
  private readonly lists = new Map<string, { ids: string[]; cycle: number }>();
  /** per job: the last /checkpoints answer and the job's checkpoint gauges it was read at */
  private readonly checkpointCache = new Map<string, { key: string | null; value: CheckpointingStatistics | null; cycle: number }>();
  /** per vertex: its subtasks (attempt, TaskManager), for a given parallelism and run of the job */
  private readonly vertexCache = new Map<string, { key: string; value: VertexDetails; cycle: number }>();
  private vertexStoreMissing = false;

  constructor(opts: FlinkRestCollectorOptions) {
    this.client = opts.client;
    this.perSubtask = opts.perSubtaskMetrics ?? true;
    this.refreshCycles = Math.max(1, opts.listRefreshCycles ?? 10);
    this.tmSamples = opts.taskManagerSamples ?? true;
    this.now = opts.now ?? Date.now;
    this.log = opts.logger ?? silentLogger();
    this.host = charFilter(new URL(this.client.baseUrl).hostname);
  }

  async collect(signal: AbortSignal): Promise<FlinkCollectResult> {
    this.cycle++;
    const time = this.now();
    const sink = new SampleSink();
    const errors: string[] = [];
    const soft = <T>(p: Promise<T>, fallback: T): Promise<T> =>
      p.catch((err: unknown) => {
        if (signal.aborted) throw err;
        errors.push(errorMessage(err));
        return fallback;
      });

    const overview = await this.client.get<JobsOverview>('/jobs/overview', signal);
    const tmInfo = await soft(this.client.get<TaskManagersInfo>('/taskmanagers', signal), null);
    const [, tmAggregates] = await Promise.all([
      soft(this.collectJobManager(overview, tmInfo, sink, signal, soft), undefined),
      soft(this.collectTaskManagers(tmInfo, sink, signal), new Map<string, AggregatedMetric>()),
    ]);

    const jobs = overview.jobs.map((j) => ({ id: j.jid, name: j.name, state: j.state }));
    const live = overview.jobs.filter((j) => !TERMINAL_JOB_STATES.has(j.state));
    const observations = await Promise.all(
      live.map((j) => soft(this.collectJob(j.jid, time, sink, { info: tmInfo, aggregates: tmAggregates }, signal, errors), null)),
    );
    for (const cache of [this.lists, this.checkpointCache, this.vertexCache]) {
      for (const [key, entry] of cache) if (this.cycle - entry.cycle > 3 * this.refreshCycles) cache.delete(key);
    }
    return { samples: sink.samples, observations: observations.filter((o): o is JobObservationInput => o !== null), jobs, errors };
  }

  /**
   * A metric id list, cached for `listRefreshCycles` collections unless `always` asks for a fresh
   * one or the cached list is not `complete` (a metric registered late must not wait a refresh).
   */
  private async listCached(path: string, key: string, signal: AbortSignal, opts: { always?: boolean; complete?: (ids: string[]) => boolean } = {}): Promise<string[]> {
    const hit = this.lists.get(key);
    if (hit && !opts.always && this.cycle - hit.cycle < this.refreshCycles && (opts.complete?.(hit.ids) ?? true)) return hit.ids;
    const ids = await this.client.listMetrics(path, signal);
    this.lists.set(key, { ids, cycle: this.cycle });
    return ids;
  }

  /** Adds every numeric metric of one scope, folding histogram expansions into summary quantiles. */
  private addScopeMetrics(sink: SampleSink, scope: ReporterScope, labels: Labels, values: MetricValue[], ids: string[]): void {
    const mapped = mapMetricIds(ids);
    for (const mv of values) {
      const m = mapped.get(mv.id) ?? { base: mv.id };
      if (m.drop) continue;
      const name = reporterName(scope, m.base);
      sink.add(name, m.quantile ? { ...labels, quantile: m.quantile } : labels, metricNumber(mv.value));
    }
  }

  /**
   * JobManager metrics. The cluster gauges a JobManager does not list (a partial REST server) come
   * from /taskmanagers and /jobs/overview, already read; /overview is asked only when those lack them.
   */
  private async collectJobManager(
    overview: JobsOverview,
    tmInfo: TaskManagersInfo | null,
    sink: SampleSink,
    signal: AbortSignal,
    soft: <T>(p: Promise<T>, fallback: T) => Promise<T>,
  ): Promise<void> {
    const labels = { host: this.host };
    let ids: string[] = [];
    try {
      ids = await this.listCached('/jobmanager/metrics', 'jm', signal);
      this.addScopeMetrics(sink, 'jobmanager', labels, await this.client.getMetrics('/jobmanager/metrics', ids, signal), ids);
    } catch (err) {
      if (!isFlinkRestError(err, 'FP_FLINK_NOT_FOUND')) throw err;
    }
    const missing = CLUSTER_GAUGES.filter((id) => !ids.includes(id));
    if (missing.length === 0) return;
    const tms = tmInfo?.taskmanagers;
    const fromTms = tms !== undefined && tms.every((t) => t.slotsNumber !== undefined && t.freeSlots !== undefined);
    const cluster = fromTms ? null : await soft(this.client.get<ClusterOverview>('/overview', signal), null);
    const value: Record<(typeof CLUSTER_GAUGES)[number], number | undefined> = fromTms
      ? {
          numRegisteredTaskManagers: tms.length,
          taskSlotsTotal: tms.reduce((a, t) => a + t.slotsNumber!, 0),
          taskSlotsAvailable: tms.reduce((a, t) => a + t.freeSlots!, 0),
          numRunningJobs: overview.jobs.filter((j) => j.state === 'RUNNING').length,
        }
      : {
          numRegisteredTaskManagers: cluster?.taskmanagers,
          taskSlotsTotal: cluster?.['slots-total'],
          taskSlotsAvailable: cluster?.['slots-available'],
          numRunningJobs: cluster?.['jobs-running'],
        };
    for (const id of missing) {
      const v = value[id];
      if (v !== undefined) sink.add(reporterName('jobmanager', id), labels, v);
    }
  }

  /**
   * TaskManager metrics and their aggregates over the TaskManagers. With per-TaskManager samples,
   * each TaskManager's Status metrics are read (one request each) and the aggregates computed from
   * them; without, one aggregated /taskmanagers/metrics request gives the aggregates (as the
   * operator's RestApiMetricsCollector reads heap and GC).
   */
  private async collectTaskManagers(info: TaskManagersInfo | null, sink: SampleSink, signal: AbortSignal): Promise<Map<string, AggregatedMetric>> {
    if (!info) return new Map();
    if (!this.tmSamples) {
      const listed = new Set(await this.listCached('/taskmanagers/metrics', 'tms', signal));
      const wanted = TM_AGG_METRICS.filter((id) => listed.has(id));
      return new Map((await this.aggregated('/taskmanagers/metrics', wanted, signal)).map((m) => [m.id, m]));
    }
    const perTm = await Promise.all(
      info.taskmanagers.map(async (tm) => {
        const path = `/taskmanagers/${encodeURIComponent(tm.id)}/metrics`;
        const ids = (await this.listCached(path, `tm:${tm.id}`, signal)).filter((id) => id.startsWith('Status.'));
        const values = await this.client.getMetrics(path, ids, signal);
        this.addScopeMetrics(sink, 'taskmanager', { host: charFilter(taskManagerHost(tm.path, tm.id)), tm_id: charFilter(tm.id) }, values, ids);
        return values;
      }),
    );
    return aggregateLocally(perTm, TM_AGG_METRICS);
  }

  /** Aggregated metrics, working around Flink answering [] when any requested id is missing somewhere. */
  private async aggregated(path: string, ids: string[], signal: AbortSignal): Promise<AggregatedMetric[]> {
    if (ids.length === 0) return [];
    const all = await this.client.getAggregated(path, ids, AGGS, signal);
    if (all.length > 0 || ids.length === 1) return all;
    const each = await Promise.all(ids.map((id) => this.client.getAggregated(path, [id], AGGS, signal)));
    return each.flat();
  }

  private async collectJob(
    jid: string,
    time: number,
    sink: SampleSink,
    tms: { info: TaskManagersInfo | null; aggregates: Map<string, AggregatedMetric> },
    signal: AbortSignal,
    errors: string[],
  ): Promise<JobObservationInput> {
    const details = await this.client.get<JobDetails>(`/jobs/${jid}`, signal);
    const jobLabels = { job_id: details.jid, job_name: charFilter(details.name) };
    const jobMetrics = await this.collectJobMetrics(jid, { ...jobLabels, host: this.host }, sink, signal).catch((err: unknown) => {
      if (signal.aborted) throw err;
      errors.push(errorMessage(err));
      return new Map<string, number>();
    });
    // The job's run: a restart (a failover too) moves subtasks to other attempts and TaskManagers,
    // and a restore from a checkpoint comes with one.
    const run = `${details.timestamps?.RUNNING ?? ''}:${jobMetrics.get('numRestarts') ?? ''}`;
    const checkpoints = await this.checkpoints(jid, jobMetrics, run, signal).catch((err: unknown) => {
      if (signal.aborted) throw err;
      errors.push(errorMessage(err));
      return null;
    });
    if (checkpoints) this.addCheckpointFallbacks(checkpoints, jobMetrics, { ...jobLabels, host: this.host }, sink);
    const figures = new Map<string, VertexFigures>();
    const sources = sourceVertexIds(details);
    let failed = 0;
    await Promise.all(
      details.vertices.map(async (v) => {
        // A FINISHED vertex (a bounded source in a streaming job) has no live metrics: it is not
        // queried, and the observation marks it excluded (ScalingMetricCollector skips it too).
        if (v.status === 'FINISHED') return;
        try {
          figures.set(v.id, await this.collectVertex(details, v, sources.has(v.id), run, jobLabels, sink, signal));
        } catch (err) {
          if (signal.aborted) throw err;
          errors.push(errorMessage(err));
          failed++;
        }
      }),
    );
    // Half a job's figures would read as an idle vertex: no observation this time.
    if (failed > 0) throw new FlowpilotError('FP_FLINK_PARTIAL', `job ${jid}: the metrics of ${failed} vertex(es) could not be read; no observation this cycle`);
    return buildJobObservation({ time, details, jobMetrics, checkpoints, vertices: figures, taskManagers: tms });
  }

  private async collectJobMetrics(jid: string, labels: Labels, sink: SampleSink, signal: AbortSignal): Promise<Map<string, number>> {
    const path = `/jobs/${jid}/metrics`;
    const ids = await this.listCached(path, `job:${jid}`, signal);
    const values = await this.client.getMetrics(path, ids, signal);
    this.addScopeMetrics(sink, 'jobmanager_job', labels, values, ids);
    return new Map(values.map((v) => [v.id, metricNumber(v.value)]));
  }

  /** Checkpoint gauges from /checkpoints when the job's metric store lacks them (e.g. a partial REST server). */
  private addCheckpointFallbacks(cp: CheckpointingStatistics, have: Map<string, number>, labels: Labels, sink: SampleSink): void {
    const done = cp.latest?.completed ?? null;
    const derived: Array<[string, number | undefined]> = [
      ['totalNumberOfCheckpoints', cp.counts?.total],
      ['numberOfCompletedCheckpoints', cp.counts?.completed],
      ['numberOfFailedCheckpoints', cp.counts?.failed],
      ['numberOfInProgressCheckpoints', cp.counts?.in_progress],
      ['lastCheckpointDuration', done ? done.end_to_end_duration : -1],
      ['lastCheckpointSize', done ? (done.checkpointed_size ?? done.state_size) : -1],
      ['lastCheckpointFullSize', done ? done.state_size : -1],
      ['lastCompletedCheckpointId', done ? done.id : -1],
      ['lastCheckpointRestoreTimestamp', cp.latest?.restored?.restore_timestamp ?? -1],
    ];
    for (const [id, v] of derived) {
      if (v === undefined || have.has(id)) continue;
      sink.add(reporterName('jobmanager_job', id), labels, v);
      have.set(id, v);
    }
  }

  /**
   * /jobs/:id/checkpoints, read again only when the job's checkpoint counts, its last restore or
   * its run moved since the last read, or every `listRefreshCycles` collections; read every time
   * when the job lists no checkpoint counts (a partial REST server), the only source of those figures.
   */
  private async checkpoints(jid: string, jobMetrics: Map<string, number>, run: string, signal: AbortSignal): Promise<CheckpointingStatistics | null> {
    const key = CHECKPOINT_COUNTS.every((id) => jobMetrics.has(id))
      ? `${CHECKPOINT_COUNTS.map((id) => jobMetrics.get(id)).join(',')}:${jobMetrics.get('lastCheckpointRestoreTimestamp') ?? ''}:${run}`
      : null;
    const hit = this.checkpointCache.get(jid);
    if (hit && key !== null && hit.key === key && this.cycle - hit.cycle < this.refreshCycles) return hit.value;
    const value = await this.client.getOptional<CheckpointingStatistics>(`/jobs/${jid}/checkpoints`, signal);
    this.checkpointCache.set(jid, { key, value, cycle: this.cycle });
    return value;
  }

  private async collectVertex(
    details: JobDetails,
    v: JobDetails['vertices'][number],
    isSource: boolean,
    run: string,
    jobLabels: Labels,
    sink: SampleSink,
    signal: AbortSignal,
  ): Promise<VertexFigures> {
    const base = `/jobs/${details.jid}/vertices/${v.id}`;
    // The Kafka source registers pendingRecords, and its partition gauges, lazily on its first
    // record. With per-subtask reads from the vertex store, a source lacking pendingRecords has it
    // asked for by name in that read (an id Flink does not have yet is left out of the answer),
    // and is listed again once it appears; otherwise its list is read again every collection
    // until it has pendingRecords, as the operator's ScalingMetricCollector re-lists sources.
    // Once complete, every list is read again every `listRefreshCycles` collections, so a new
    // partition shows within that many.
    const probing = isSource && this.perSubtask && !this.vertexStoreMissing;
    const listKey = `v:${details.jid}:${v.id}:${v.parallelism}`;
    const ids = await this.listCached(`${base}/subtasks/metrics`, listKey, signal, {
      complete: (list) => REQUIRED_VERTEX_METRICS.every((id) => list.includes(id)) && (!isSource || probing || list.some((id) => id.endsWith('.pendingRecords'))),
    });
    const idSet = new Set(ids);
    const wanted = [
      ...VERTEX_AGG_METRICS.filter((id) => idSet.has(id)),
      ...(isSource ? ids.filter((id) => SOURCE_OPERATOR_IO.test(id) || id.endsWith('.pendingRecords')) : []),
    ];
    const partitions = new Set<string>();
    if (isSource) {
      for (const id of ids) {
        const key = sourcePartitionKey(id);
        if (key !== null) partitions.add(key);
      }
    }
    const collected = ids.filter(isCollectedTaskMetric);
    let agg: AggregatedMetric[];
    if (!this.perSubtask || (collected.length === 0 && wanted.length > 0)) {
      agg = await this.aggregated(`${base}/subtasks/metrics`, wanted, signal);
    } else {
      const probes = probing && !wanted.some((id) => id.endsWith('.pendingRecords'))
        ? [...new Set(wanted.filter((id) => SOURCE_OPERATOR_IO.test(id)).map((id) => `${id.slice(0, id.lastIndexOf('.'))}.pendingRecords`))]
        : [];
      // One read of every subtask's values gives the per-subtask series and the vertex's
      // aggregates (computed here as Flink's agg= would: over all subtasks, an id missing on one is left out).
      const all = [...new Set([...collected, ...wanted, ...probes])];
      const perSubtask = await this.collectSubtasks(base, v, all, new Set([...collected, ...probes]), run, jobLabels, sink, signal);
      agg = perSubtask === null ? await this.aggregated(`${base}/subtasks/metrics`, wanted, signal) : [...aggregateLocally(perSubtask, [...wanted, ...probes]).values()];
      if (probes.length > 0 && perSubtask?.some((values) => values.some((mv) => probes.includes(mv.id)))) this.lists.delete(listKey);
    }
    return {
      aggregates: new Map(agg.map((m) => [m.id, m])),
      ...(partitions.size > 0 ? { partitions: partitions.size } : {}),
    };
  }

  /** A vertex's subtasks (attempt, TaskManager, host), read again when its parallelism or the job's run changes, or every `listRefreshCycles`. */
  private async vertexDetails(base: string, v: JobDetails['vertices'][number], run: string, signal: AbortSignal): Promise<VertexDetails> {
    const key = `${v.parallelism}:${run}`;
    const hit = this.vertexCache.get(base);
    if (hit && hit.key === key && this.cycle - hit.cycle < this.refreshCycles) return hit.value;
    const value = await this.client.get<VertexDetails>(base, signal);
    this.vertexCache.set(base, { key, value, cycle: this.cycle });
    return value;
  }

  /**
   * Per-subtask series of the `exported` ids; returns every subtask's values of `ids`, or null
   * when they were read subtask by subtask (no vertex store: the caller aggregates with agg=).
   */
  private async collectSubtasks(
    base: string,
    v: JobDetails['vertices'][number],
    ids: string[],
    exported: Set<string>,
    run: string,
    jobLabels: Labels,
    sink: SampleSink,
    signal: AbortSignal,
  ): Promise<MetricValue[][] | null> {
    if (ids.length === 0) return [];
    const vd = await this.vertexDetails(base, v, run, signal);
    const fromStore = !this.vertexStoreMissing;
    const values = await this.subtaskValues(base, vd, fromStore ? ids : ids.filter((id) => exported.has(id)), signal);
    const bySubtask = new Map(vd.subtasks.map((s) => [s.subtask, s]));
    const perSubtask = new Map<number, MetricValue[]>(vd.subtasks.map((s) => [s.subtask, []]));
    const taskName = charFilter(v.name);
    let labels: Labels | null = null;
    let labelsOf = -1;
    for (const [index, mv] of values) {
      perSubtask.get(index)?.push(mv);
      if (!exported.has(mv.id)) continue;
      if (labelsOf !== index) {
        const st = bySubtask.get(index);
        const endpointHost = (st?.endpoint ?? st?.host ?? '').replace(/:\d+$/, '');
        labels = {
          ...jobLabels,
          task_id: v.id,
          task_name: taskName,
          subtask_index: String(index),
          task_attempt_num: String(st?.attempt ?? 0),
          tm_id: charFilter(st?.['taskmanager-id'] ?? ''),
          host: charFilter(endpointHost),
        };
        labelsOf = index;
      }
      const c = classifyTaskMetricId(mv.id);
      if (c.operator === null) sink.add(reporterName('taskmanager_job_task', c.metric), labels!, metricNumber(mv.value));
      else sink.add(reporterName('taskmanager_job_task_operator', c.metric), { ...labels!, operator_name: charFilter(c.operator) }, metricNumber(mv.value));
    }
    return fromStore && !this.vertexStoreMissing ? [...perSubtask.values()] : null;
  }

  /** Per-subtask values: one vertex-store request (`<index>.<id>`), or per subtask when that store is absent. */
  private async subtaskValues(base: string, vd: VertexDetails, ids: string[], signal: AbortSignal): Promise<Array<[number, MetricValue]>> {
    const indices = vd.subtasks.map((s) => s.subtask);
    if (!this.vertexStoreMissing) {
      try {
        const prefixed = indices.flatMap((i) => ids.map((id) => `${i}.${id}`));
        const values = await this.client.getMetrics(`${base}/metrics`, prefixed, signal);
        return values.map((mv) => {
          const dot = mv.id.indexOf('.');
          return [Number(mv.id.slice(0, dot)), { id: mv.id.slice(dot + 1), value: mv.value }];
        });
      } catch (err) {
        if (!isFlinkRestError(err, 'FP_FLINK_NOT_FOUND')) throw err;
        this.vertexStoreMissing = true;
        this.log.info('the vertex metric store (/jobs/:id/vertices/:vid/metrics) is missing; reading subtasks one by one');
      }
    }
    const per = await Promise.all(
      indices.map(async (i) => (await this.client.getMetrics(`${base}/subtasks/${i}/metrics`, ids, signal)).map((mv): [number, MetricValue] => [i, mv])),
    );
    return per.flat();
  }
}

/**
 * min/max/avg/sum of each id over the components (subtasks or TaskManagers) that report metrics,
 * as Flink's `agg=` computes them; an id missing from one of them is left out, as Flink answers
 * nothing for it.
 */
export function aggregateLocally(all: MetricValue[][], ids: readonly string[]): Map<string, AggregatedMetric> {
  const out = new Map<string, AggregatedMetric>();
  const components = all.filter((values) => values.length > 0);
  if (components.length === 0) return out;
  const wanted = new Set(ids);
  const acc = new Map<string, { min: number; max: number; sum: number; n: number }>();
  for (const values of components) {
    for (const mv of values) {
      if (!wanted.has(mv.id)) continue;
      const x = metricNumber(mv.value);
      const a = acc.get(mv.id);
      if (a === undefined) acc.set(mv.id, { min: x, max: x, sum: x, n: 1 });
      else {
        a.min = Math.min(a.min, x);
        a.max = Math.max(a.max, x);
        a.sum += x;
        a.n++;
      }
    }
  }
  for (const [id, a] of acc) if (a.n === components.length) out.set(id, { id, min: a.min, max: a.max, avg: a.sum / a.n, sum: a.sum });
  return out;
}

/**
 * The Flink REST collector as a scrape source; observations go to `onCollected` after each
 * success. With `exportSamples` false the samples are dropped (only `up` and the scrape series
 * remain), for setups that scrape the same cluster's reporter endpoints as well.
 */
export class FlinkRestSource implements TargetSource {
  readonly url: string;
  readonly collector: FlinkRestCollector;
  private readonly onCollected: ((result: FlinkCollectResult) => void) | undefined;
  private readonly exportSamples: boolean;

  constructor(collector: FlinkRestCollector, onCollected?: (result: FlinkCollectResult) => void, exportSamples = true) {
    this.collector = collector;
    this.url = collector.client.baseUrl;
    this.onCollected = onCollected;
    this.exportSamples = exportSamples;
  }

  async fetch(signal: AbortSignal): Promise<SourceResult> {
    const result = await this.collector.collect(signal);
    this.onCollected?.(result);
    return {
      samples: this.exportSamples ? result.samples : [],
      parseErrors: result.errors.length,
      ...(result.errors.length > 0 ? { firstParseError: result.errors[0]! } : {}),
    };
  }
}
