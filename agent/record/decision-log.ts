/**
 * The decision record: a bounded ring of every evaluation (inputs summary, per-vertex model
 * numbers, the decision or the guard that blocked it), the prom-client gauges and counter
 * that expose the model per {job_id, vertex_id} (in fleet mode also per {namespace,
 * resource_name}, the job's FlinkDeployment or FlinkSessionJob), one structured pino line per decision, and
 * the handler for GET /api/v1/scaling/decisions that the agent's HTTP server mounts.
 */
import type http from 'node:http';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '../../common/log.ts';
import type { ScaleDecision } from '../scaling/decision.ts';
import { charFilter } from '../collect/flink-names.ts';

export class DecisionRing {
  private readonly items: ScaleDecision[] = [];
  readonly capacity: number;

  constructor(capacity = 1000) {
    this.capacity = capacity;
  }

  push(d: ScaleDecision): void {
    this.items.push(d);
    if (this.items.length > this.capacity) this.items.splice(0, this.items.length - this.capacity);
  }

  /** Newest last; filtered by job, at most `limit`. */
  list(opts: { jobId?: string; limit?: number } = {}): ScaleDecision[] {
    const all = opts.jobId ? this.items.filter((d) => d.jobId === opts.jobId) : this.items;
    return all.slice(-(opts.limit ?? all.length));
  }

  get size(): number {
    return this.items.length;
  }
}

export interface DecisionMetrics {
  trueRate: Gauge;
  targetRate: Gauge;
  utilization: Gauge;
  recommended: Gauge;
  current: Gauge;
  bandLow: Gauge;
  bandHigh: Gauge;
  bandTarget: Gauge;
  decisions: Counter;
}

export function registerDecisionMetrics(registry: Registry): DecisionMetrics {
  // namespace and resource_name are set in fleet mode only (the resource the job runs in).
  const scope = ['namespace', 'resource_name'] as const;
  const labelNames = ['job_id', 'job_name', 'vertex_id', ...scope] as const;
  const g = (name: string, help: string): Gauge => new Gauge({ name, help, labelNames, registers: [registry] });
  const job = (name: string, help: string): Gauge => new Gauge({ name, help, labelNames: ['job_id', 'job_name', ...scope], registers: [registry] });
  return {
    trueRate: g('flowpilot_scaling_true_rate', 'Records/s the vertex can process at its current parallelism (model).'),
    targetRate: g('flowpilot_scaling_target_rate', 'Records/s arriving for the vertex, propagated from the sources.'),
    utilization: g('flowpilot_scaling_utilization', 'Demand (target + catch-up) over true rate.'),
    recommended: g('flowpilot_scaling_recommended_parallelism', 'Parallelism the model recommends before guards.'),
    current: g('flowpilot_scaling_current_parallelism', 'Parallelism the vertex runs at.'),
    bandLow: job('flowpilot_scaling_utilization_band_low', 'Utilization below which a vertex is scaled down (policy).'),
    bandHigh: job('flowpilot_scaling_utilization_band_high', 'Utilization above which a vertex is scaled up (policy).'),
    bandTarget: job('flowpilot_scaling_utilization_target', 'Utilization each vertex is sized for (policy).'),
    decisions: new Counter({ name: 'flowpilot_scaling_decisions_total', help: 'Scaling evaluations by outcome.', labelNames: ['job_id', 'job_name', 'action', 'blocked_by', ...scope], registers: [registry] }),
  };
}

/** The labels that say which resource a decision is about (fleet mode). */
export interface DecisionScope {
  namespace: string;
  resource_name: string;
}

/** Records one decision: ring, gauges, counter and one log line. */
export class DecisionRecorder {
  readonly ring: DecisionRing;
  private readonly metrics: DecisionMetrics | undefined;
  private readonly log: Logger | undefined;

  constructor(opts: { capacity?: number; registry?: Registry; logger?: Logger } = {}) {
    this.ring = new DecisionRing(opts.capacity);
    this.metrics = opts.registry ? registerDecisionMetrics(opts.registry) : undefined;
    this.log = opts.logger;
  }

  /** `scope` (fleet mode) adds namespace and resource_name to every series and the log line; `ring: false` keeps it out of the ring (the fleet keeps rings per job). */
  record(d: ScaleDecision, scope?: DecisionScope, ring = true): void {
    if (ring) this.ring.push(d);
    const m = this.metrics;
    if (m) {
      // job_name as Flink's Prometheus reporter writes it (order-enrichment → order_enrichment), so the
      // dashboards' $job_name, read from Flink's series, selects these series too.
      const jobLabels = { job_id: d.jobId, job_name: charFilter(d.jobName ?? ''), ...scope };
      for (const [vertex, v] of Object.entries(d.perVertex)) {
        const labels = { ...jobLabels, vertex_id: vertex };
        m.trueRate.set(labels, v.trueRate);
        m.targetRate.set(labels, v.targetRate);
        m.utilization.set(labels, v.utilization);
        m.recommended.set(labels, v.recommended);
        m.current.set(labels, v.parallelism);
      }
      if (d.utilizationBand) {
        m.bandLow.set(jobLabels, d.utilizationBand.min);
        m.bandHigh.set(jobLabels, d.utilizationBand.max);
        m.bandTarget.set(jobLabels, d.utilizationBand.target);
      }
      m.decisions.inc({ ...jobLabels, action: d.action, blocked_by: d.blockedBy ?? '' });
    }
    this.log?.info(
      { event: 'scaling_decision', ...scope, job_id: d.jobId, job_name: d.jobName, action: d.action, parallelism: d.parallelism, recommended: d.recommended, blocked_by: d.blockedBy, reasons: d.reasons, backlog_mode: d.backlogMode, restart_cost_sec: d.restartCostSec },
      d.action === 'rescale' ? 'rescale decided' : `no rescale${d.blockedBy ? ` (${d.blockedBy})` : ''}`,
    );
  }

  /** Removes the gauges of a job that is no longer managed here (its last decision names its vertices). */
  forget(d: ScaleDecision, scope?: DecisionScope): void {
    const m = this.metrics;
    if (!m) return;
    const jobLabels = { job_id: d.jobId, job_name: charFilter(d.jobName ?? ''), ...scope };
    for (const vertex of Object.keys(d.perVertex)) {
      for (const g of [m.trueRate, m.targetRate, m.utilization, m.recommended, m.current]) g.remove({ ...jobLabels, vertex_id: vertex });
    }
    for (const g of [m.bandLow, m.bandHigh, m.bandTarget]) g.remove(jobLabels);
  }
}

/**
 * Serves GET /api/v1/scaling/decisions?job=ID&limit=N as {"decisions":[...]} (newest last).
 * Returns false for any other path so the server can try its other routes.
 */
export function handleDecisionsRoute(req: http.IncomingMessage, res: http.ServerResponse, ring: DecisionRing): boolean {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname !== '/api/v1/scaling/decisions' || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
  const jobId = url.searchParams.get('job') ?? undefined;
  const limitRaw = url.searchParams.get('limit');
  const limit = limitRaw === null ? 100 : Number(limitRaw);
  if (!Number.isInteger(limit) || limit < 1) {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'limit must be a positive integer' }));
    return true;
  }
  const body = JSON.stringify({ decisions: ring.list({ ...(jobId ? { jobId } : {}), limit }) });
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(req.method === 'HEAD' ? undefined : body);
  return true;
}
