/**
 * The read-only routes: cluster, jobs, vertices, metrics, TaskManagers, checkpoints and
 * resource requirements. Each maps a backend view through the wire-format functions in
 * views-*.ts and metrics.ts. Metric endpoints answer `[]` for unknown jobs, vertices and
 * TaskManagers, as Flink's metric store does; the other job routes answer Flink's 404s.
 */
import type { ExceptionView, MetricValues } from './backend.ts';
import {
  hexParam, intParam, ok, queryAll, queryInt, requireJob, requireVertex,
  type Handler, type RequestContext,
} from './context.ts';
import { badParameter, handlerError, jobNotFound } from './errors.ts';
import { aggregate, formatMetricValue, listOrGet, parseAggregations, parseIndexRanges, splitList } from './metrics.ts';
import type { Router } from './router.ts';
import { checkpointConfig, checkpointingStatistics, checkpointStatistics, findCheckpoint } from './views-checkpoints.ts';
import { clusterOverview, configEntries, dashboardConfig, taskManagerDetails, taskManagerInfo } from './views-cluster.ts';
import {
  backpressure, jobConfig, jobDetails, jobExceptions, jobIdWithStatus, jobOverview, vertexDetails,
} from './views-jobs.ts';

const CHECKPOINTING_OFF = 'Checkpointing has not been enabled.';

function get(ctx: RequestContext): string[] {
  return splitList(queryAll(ctx, 'get'));
}

/** Subtask metric maps of a vertex, or undefined when the job/vertex id is malformed or unknown. */
function vertexMetrics(ctx: RequestContext): MetricValues[] | undefined {
  return ctx.backend.subtaskMetrics(hexParam(ctx, 'jobid'), hexParam(ctx, 'vertexid'));
}

function aggregated(ctx: RequestContext, components: MetricValues[]): ReturnType<Handler> {
  return ok(aggregate(components, get(ctx), parseAggregations(queryAll(ctx, 'agg'))));
}

function checkpointStatsOrOff(ctx: RequestContext) {
  const job = requireJob(ctx);
  const stats = ctx.backend.checkpointStats?.(job.jobId);
  if (!stats) throw handlerError(404, CHECKPOINTING_OFF);
  return stats;
}

export function addReadRoutes(r: Router<Handler>): void {
  r.add('GET', '/config', (ctx) => ok(dashboardConfig(ctx.identity)));
  r.add('GET', '/overview', (ctx) => ok(clusterOverview(ctx.identity, ctx.backend.listJobs(), ctx.backend.listTaskManagers())));
  r.add('GET', '/jobs', (ctx) => ok({ jobs: ctx.backend.listJobs().map(jobIdWithStatus) }));
  r.add('GET', '/jobs/overview', (ctx) => ok({ jobs: ctx.backend.listJobs().map((j) => jobOverview(j, ctx.now)) }));
  r.add('GET', '/jobs/metrics', (ctx) => {
    const wanted = splitList(queryAll(ctx, 'jobs'));
    const ids = wanted.length > 0 ? wanted : ctx.backend.listJobs().map((j) => j.jobId);
    const comps = ids.map((id) => ctx.backend.jobMetrics(id)).filter((m): m is MetricValues => m !== undefined);
    return aggregated(ctx, comps);
  });

  r.add('GET', '/jobs/:jobid', (ctx) => {
    const job = requireJob(ctx);
    return ok(jobDetails(job, ctx.now, (vid) => ctx.backend.subtaskMetrics(job.jobId, vid)));
  });
  r.add('GET', '/jobs/:jobid/config', (ctx) => ok(jobConfig(requireJob(ctx))));
  r.add('GET', '/jobs/:jobid/plan', (ctx) => {
    const job = requireJob(ctx);
    return ok({ plan: (jobDetails(job, ctx.now, () => undefined) as { plan: unknown }).plan });
  });
  r.add('GET', '/jobs/:jobid/status', (ctx) => ok({ status: requireJob(ctx).status }));
  r.add('GET', '/jobs/:jobid/exceptions', (ctx) => {
    const job = requireJob(ctx);
    const labels = splitList(queryAll(ctx, 'failureLabelFilter')).map((kv): [string, string] => {
      const i = kv.indexOf(':');
      return i < 0 ? [kv, ''] : [kv.slice(0, i), kv.slice(i + 1)];
    });
    const max = queryInt(ctx, 'maxExceptions') ?? 20;
    if (max < 0) throw badParameter('query', 'maxExceptions', String(max), 'Expected a non-negative integer.');
    const scrubbed = { ...job, exceptions: job.exceptions.map((e) => scrubException(ctx, e)) };
    return ok(jobExceptions(scrubbed, max, labels));
  });
  r.add('GET', '/jobs/:jobid/metrics', (ctx) => ok(listOrGet(ctx.backend.jobMetrics(hexParam(ctx, 'jobid')), get(ctx))));

  r.add('GET', '/jobs/:jobid/vertices/:vertexid', (ctx) => {
    const { job, vertex } = requireVertex(ctx);
    return ok(vertexDetails(vertex, ctx.now, ctx.backend.subtaskMetrics(job.jobId, vertex.id)));
  });
  r.add('GET', '/jobs/:jobid/vertices/:vertexid/backpressure', (ctx) => ok(backpressure(vertexMetrics(ctx), ctx.now)));
  r.add('GET', '/jobs/:jobid/vertices/:vertexid/metrics', (ctx) => {
    const perSubtask = vertexMetrics(ctx);
    if (perSubtask === undefined) return ok([]);
    const prefixed: MetricValues = {};
    perSubtask.forEach((m, i) => {
      for (const [id, v] of Object.entries(m ?? {})) prefixed[`${i}.${id}`] = v;
    });
    return ok(listOrGet(prefixed, get(ctx)));
  });
  r.add('GET', '/jobs/:jobid/vertices/:vertexid/watermarks', (ctx) => {
    const { job, vertex } = requireVertex(ctx);
    const perSubtask = ctx.backend.subtaskMetrics(job.jobId, vertex.id) ?? [];
    const out = perSubtask.flatMap((m, i) => {
      const v = m?.currentInputWatermark;
      return v === undefined ? [] : [{ id: `${i}.currentInputWatermark`, value: formatMetricValue(v) }];
    });
    return ok(out);
  });
  r.add('GET', '/jobs/:jobid/vertices/:vertexid/subtasks/metrics', (ctx) => {
    const all = vertexMetrics(ctx) ?? [];
    const filter = queryAll(ctx, 'subtasks');
    const indices = filter.length > 0 ? parseIndexRanges('subtasks', filter) : all.map((_, i) => i);
    return aggregated(ctx, indices.map((i) => all[i]).filter((m): m is MetricValues => m !== undefined));
  });
  r.add('GET', '/jobs/:jobid/vertices/:vertexid/subtasks/:subtaskindex/metrics', (ctx) => {
    const index = intParam(ctx, 'subtaskindex');
    return ok(listOrGet(vertexMetrics(ctx)?.[index], get(ctx)));
  });

  r.add('GET', '/jobmanager/config', (ctx) => ok(configEntries(ctx.backend.jobManagerConfig())));
  r.add('GET', '/jobs/:jobid/jobmanager/config', (ctx) => {
    const job = requireJob(ctx);
    return ok(configEntries({ ...ctx.backend.jobManagerConfig(), ...job.config }));
  });
  r.add('GET', '/jobmanager/metrics', (ctx) => ok(listOrGet(ctx.backend.jobManagerMetrics(), get(ctx))));
  r.add('GET', '/taskmanagers', (ctx) => ok({ taskmanagers: ctx.backend.listTaskManagers().map(taskManagerInfo) }));
  r.add('GET', '/taskmanagers/metrics', (ctx) => {
    const wanted = splitList(queryAll(ctx, 'taskmanagers'));
    const ids = wanted.length > 0 ? wanted : ctx.backend.listTaskManagers().map((t) => t.id);
    const comps = ids.map((id) => ctx.backend.taskManagerMetrics(id)).filter((m): m is MetricValues => m !== undefined);
    return aggregated(ctx, comps);
  });
  r.add('GET', '/taskmanagers/:taskmanagerid', (ctx) => {
    const id = ctx.params.taskmanagerid ?? '';
    const tm = ctx.backend.listTaskManagers().find((t) => t.id === id);
    if (!tm) throw handlerError(404, `Could not find TaskExecutor ${id}.`);
    return ok(taskManagerDetails(tm, ctx.backend.taskManagerMetrics(id)));
  });
  r.add('GET', '/taskmanagers/:taskmanagerid/metrics', (ctx) =>
    ok(listOrGet(ctx.backend.taskManagerMetrics(ctx.params.taskmanagerid ?? ''), get(ctx))));

  r.add('GET', '/jobs/:jobid/checkpoints', (ctx) => ok(checkpointingStatistics(checkpointStatsOrOff(ctx))));
  r.add('GET', '/jobs/:jobid/checkpoints/config', (ctx) => {
    const job = requireJob(ctx);
    const config = ctx.backend.checkpointConfig?.(job.jobId);
    if (!config) throw handlerError(404, CHECKPOINTING_OFF);
    return ok(checkpointConfig(config));
  });
  r.add('GET', '/jobs/:jobid/checkpoints/details/:checkpointid', (ctx) => {
    const stats = checkpointStatsOrOff(ctx);
    const id = intParam(ctx, 'checkpointid');
    const found = findCheckpoint(stats, id);
    if (!found) throw handlerError(404, `Could not find checkpointing statistics for checkpoint ${id}.`);
    return ok(checkpointStatistics(found, true));
  });

  r.add('GET', '/jobs/:jobid/resource-requirements', (ctx) => {
    const job = requireJob(ctx);
    if (!ctx.backend.getResourceRequirements) throw unsupportedScheduler();
    const reqs = ctx.backend.getResourceRequirements(job.jobId);
    if (!reqs) throw jobNotFound(job.jobId);
    const body: Record<string, unknown> = {};
    for (const [vid, b] of Object.entries(reqs)) body[vid] = { parallelism: { lowerBound: b.lowerBound, upperBound: b.upperBound } };
    return ok(body);
  });
}

/** An exception history entry with the server's directories cut out of its texts. */
function scrubException(ctx: RequestContext, e: ExceptionView): ExceptionView {
  const out: ExceptionView = { ...e, stacktrace: ctx.scrub(e.stacktrace) };
  if (e.concurrentExceptions) out.concurrentExceptions = e.concurrentExceptions.map((c) => scrubException(ctx, c));
  return out;
}

/** What Flink answers when the scheduler is not the adaptive one (an unhandled exception → 500). */
export function unsupportedScheduler(): Error {
  return new UnsupportedOperation('The resource requirements are only expected to work with the AdaptiveScheduler.');
}

class UnsupportedOperation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'java.lang.UnsupportedOperationException';
  }
}
