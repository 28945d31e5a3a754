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
  now?: () => number;
  logger?: Logger;
}

const VERTEX_AGG_METRICS = ['numRecordsIn', 'numRecordsOut', 'busyTimeMsPerSecond', 'backPressuredTimeMsPerSecond', 'idleTimeMsPerSecond'];
const TM_AGG_METRICS = ['Status.JVM.Memory.Heap.Used', 'Status.JVM.Memory.Heap.Max', 'Status.JVM.GarbageCollector.All.TimeMsPerSecond', 'Status.JVM.CPU.Load'];
const AGGS = ['min', 'max', 'avg', 'sum'];
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
  private cycle = 0;
  private readonly lists = new Map<string, { ids: string[]; cycle: number }>();
  private vertexStoreMissing = false;

  constructor(opts: FlinkRestCollectorOptions) {
    this.client = opts.client;
    this.perSubtask = opts.perSubtaskMetrics ?? true;
    this.refreshCycles = Math.max(1, opts.listRefreshCycles ?? 10);
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
    const [cluster, tmInfo] = await Promise.all([
      soft(this.client.get<ClusterOverview>('/overview', signal), null),
      soft(this.client.get<TaskManagersInfo>('/taskmanagers', signal), null),
    ]);
    const [, tmAggregates] = await Promise.all([
      soft(this.collectJobManager(cluster, sink, signal), undefined),
      soft(this.collectTaskManagers(tmInfo, sink, signal), new Map<string, AggregatedMetric>()),
    ]);

    const jobs = overview.jobs.map((j) => ({ id: j.jid, name: j.name, state: j.state }));
    const live = overview.jobs.filter((j) => !TERMINAL_JOB_STATES.has(j.state));
    const observations = await Promise.all(
      live.map((j) => soft(this.collectJob(j.jid, time, sink, { info: tmInfo, aggregates: tmAggregates }, signal, errors), null)),
    );
    for (const key of this.lists.keys()) if (this.cycle - this.lists.get(key)!.cycle > 3 * this.refreshCycles) this.lists.delete(key);
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

  private async collectJobManager(cluster: ClusterOverview | null, sink: SampleSink, signal: AbortSignal): Promise<void> {
    const labels = { host: this.host };
    let ids: string[] = [];
    try {
      ids = await this.listCached('/jobmanager/metrics', 'jm', signal);
      this.addScopeMetrics(sink, 'jobmanager', labels, await this.client.getMetrics('/jobmanager/metrics', ids, signal), ids);
    } catch (err) {
      if (!isFlinkRestError(err, 'FP_FLINK_NOT_FOUND')) throw err;
    }
    if (!cluster) return;
    const fallback: Array<[string, number | undefined]> = [
      ['numRegisteredTaskManagers', cluster.taskmanagers],
      ['taskSlotsTotal', cluster['slots-total']],
      ['taskSlotsAvailable', cluster['slots-available']],
      ['numRunningJobs', cluster['jobs-running']],
    ];
    for (const [id, v] of fallback) if (v !== undefined && !ids.includes(id)) sink.add(reporterName('jobmanager', id), labels, v);
  }

  private async collectTaskManagers(info: TaskManagersInfo | null, sink: SampleSink, signal: AbortSignal): Promise<Map<string, AggregatedMetric>> {
    const aggregates = new Map<string, AggregatedMetric>();
    if (!info) return aggregates;
    const available = new Set<string>();
    await Promise.all(
      info.taskmanagers.map(async (tm) => {
        const path = `/taskmanagers/${encodeURIComponent(tm.id)}/metrics`;
        const ids = (await this.listCached(path, `tm:${tm.id}`, signal)).filter((id) => id.startsWith('Status.'));
        for (const id of ids) available.add(id);
        const values = await this.client.getMetrics(path, ids, signal);
        this.addScopeMetrics(sink, 'taskmanager', { host: charFilter(taskManagerHost(tm.path, tm.id)), tm_id: charFilter(tm.id) }, values, ids);
      }),
    );
    const wanted = TM_AGG_METRICS.filter((id) => available.has(id));
    for (const m of await this.aggregated('/taskmanagers/metrics', wanted, signal)) aggregates.set(m.id, m);
    return aggregates;
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
    const [checkpoints, jobMetrics] = await Promise.all([
      this.client.getOptional<CheckpointingStatistics>(`/jobs/${jid}/checkpoints`, signal).catch((err: unknown) => {
        errors.push(errorMessage(err));
        return null;
      }),
      this.collectJobMetrics(jid, { ...jobLabels, host: this.host }, sink, signal).catch((err: unknown) => {
        errors.push(errorMessage(err));
        return new Map<string, number>();
      }),
    ]);
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
          figures.set(v.id, await this.collectVertex(details, v, sources.has(v.id), jobLabels, sink, signal));
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

  private async collectVertex(
    details: JobDetails,
    v: JobDetails['vertices'][number],
    isSource: boolean,
    jobLabels: Labels,
    sink: SampleSink,
    signal: AbortSignal,
  ): Promise<VertexFigures> {
    const base = `/jobs/${details.jid}/vertices/${v.id}`;
    // Sources are re-listed every collection, as the operator's ScalingMetricCollector does:
    // the Kafka source registers pendingRecords (and partition gauges) lazily, on its first
    // record. Other vertices keep their list while it has what the autoscaler needs.
    const ids = await this.listCached(`${base}/subtasks/metrics`, `v:${details.jid}:${v.id}:${v.parallelism}`, signal, {
      always: isSource,
      complete: (list) => REQUIRED_VERTEX_METRICS.every((id) => list.includes(id)),
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
    const [agg] = await Promise.all([
      this.aggregated(`${base}/subtasks/metrics`, wanted, signal),
      this.perSubtask ? this.collectSubtasks(base, v, ids.filter(isCollectedTaskMetric), jobLabels, sink, signal) : Promise.resolve(),
    ]);
    return {
      aggregates: new Map(agg.map((m) => [m.id, m])),
      ...(partitions.size > 0 ? { partitions: partitions.size } : {}),
    };
  }

  private async collectSubtasks(base: string, v: JobDetails['vertices'][number], ids: string[], jobLabels: Labels, sink: SampleSink, signal: AbortSignal): Promise<void> {
    if (ids.length === 0) return;
    const vd = await this.client.get<VertexDetails>(base, signal);
    const values = await this.subtaskValues(base, vd, ids, signal);
    const bySubtask = new Map(vd.subtasks.map((s) => [s.subtask, s]));
    const taskName = charFilter(v.name);
    for (const [index, mv] of values) {
      const st = bySubtask.get(index);
      const endpointHost = (st?.endpoint ?? st?.host ?? '').replace(/:\d+$/, '');
      const labels: Labels = {
        ...jobLabels,
        task_id: v.id,
        task_name: taskName,
        subtask_index: String(index),
        task_attempt_num: String(st?.attempt ?? 0),
        tm_id: charFilter(st?.['taskmanager-id'] ?? ''),
        host: charFilter(endpointHost),
      };
      const c = classifyTaskMetricId(mv.id);
      if (c.operator === null) sink.add(reporterName('taskmanager_job_task', c.metric), labels, metricNumber(mv.value));
      else sink.add(reporterName('taskmanager_job_task_operator', c.metric), { ...labels, operator_name: charFilter(c.operator) }, metricNumber(mv.value));
    }
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
