/**
 * Fetches what the live status view shows, with a per-request timeout: the Flink REST API
 * through the agent's Flink REST client (cluster overview, jobs overview, details and aggregated
 * subtask metrics of live jobs) and, over undici, when an agent URL is given, the agent's /api/v1/alerts and
 * /api/v1/scaling/decisions. A failed request never throws: it becomes a `Fetched` error value
 * that the snapshot shows as "unreachable" or "unknown". Source metric ids
 * (`<Operator>.pendingRecords`) are discovered from the metric listing once per vertex.
 */
import { Agent, request } from 'undici';
import { FlowpilotError, errorMessage } from '../../common/errors.ts';
import { FlinkRestClient } from '../../agent/flink/rest-client.ts';
import { TASK_METRIC_IDS, TERMINAL_STATES, jobsToShow, sourceMetricIds, type Fetched, type RawJob, type RawStatus } from './status-model.ts';

export interface StatusPollerOptions {
  restUrl: string;
  agentUrl?: string;
  /** per request (default 2000 ms) */
  timeoutMs?: number;
}

const trimSlash = (u: string): string => u.replace(/\/+$/, '');

function describeError(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || (err as Error).name === 'TimeoutError') return 'timed out';
  return typeof code === 'string' ? `${code}: ${errorMessage(err)}` : errorMessage(err);
}

/** A Flink REST failure as the status view words it. */
function flinkFailure(err: unknown): { error: string; status?: number } {
  if (err instanceof FlowpilotError) {
    const status = typeof err.details?.httpStatus === 'number' ? err.details.httpStatus : undefined;
    if (err.code === 'FP_FLINK_TIMEOUT') return { error: 'timed out' };
    if (err.code === 'FP_FLINK_UNREACHABLE') return { error: describeError(err.cause ?? err) };
    if (err.code === 'FP_FLINK_BAD_JSON') return { error: 'the answer is not JSON', ...(status !== undefined ? { status } : {}) };
    if (status !== undefined) return { error: `HTTP ${status}`, status };
  }
  return { error: describeError(err) };
}

export class StatusPoller {
  readonly restUrl: string;
  readonly agentUrl: string | null;
  private readonly timeoutMs: number;
  private readonly dispatcher: Agent;
  private readonly flink: FlinkRestClient;
  /** `${jobId}/${vertexId}` -> source metric ids to ask for */
  private readonly sourceIds = new Map<string, string[]>();

  constructor(opts: StatusPollerOptions) {
    this.restUrl = trimSlash(opts.restUrl);
    this.agentUrl = opts.agentUrl ? trimSlash(opts.agentUrl) : null;
    this.timeoutMs = opts.timeoutMs ?? 2000;
    this.dispatcher = new Agent({ keepAliveTimeout: 10_000, connections: 8, headersTimeout: this.timeoutMs, bodyTimeout: this.timeoutMs, connect: { timeout: this.timeoutMs } });
    this.flink = new FlinkRestClient({ baseUrl: this.restUrl, timeoutMs: this.timeoutMs, concurrency: 8 });
  }

  /** GET a Flink REST path (e.g. `/jobs/overview`); never throws. */
  async getFlink(path: string, signal?: AbortSignal): Promise<Fetched<unknown>> {
    try {
      return { ok: true, value: await this.flink.get<unknown>(path, signal) };
    } catch (err) {
      return { ok: false, ...flinkFailure(err) };
    }
  }

  /** GET a JSON answer from the agent; never throws. */
  async getJson(url: string, signal?: AbortSignal): Promise<Fetched<unknown>> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    try {
      const res = await request(url, { method: 'GET', dispatcher: this.dispatcher, signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
      const text = await res.body.text();
      if (res.statusCode < 200 || res.statusCode >= 300) return { ok: false, status: res.statusCode, error: `HTTP ${res.statusCode}` };
      try {
        return { ok: true, value: JSON.parse(text) as unknown };
      } catch {
        return { ok: false, status: res.statusCode, error: 'the answer is not JSON' };
      }
    } catch (err) {
      return { ok: false, error: describeError(err) };
    }
  }

  private async pollJob(jobId: string, signal?: AbortSignal): Promise<RawJob> {
    const base = `/jobs/${jobId}`;
    const raw: RawJob = { detail: null, taskMetrics: {}, sourceMetrics: {} };
    const detail = await this.getFlink(base, signal);
    if (!detail.ok) return raw;
    raw.detail = detail.value;
    const d = detail.value as { vertices?: Array<{ id?: unknown }>; plan?: { nodes?: Array<{ id?: unknown; inputs?: unknown[] }> } };
    const sources = new Set((d.plan?.nodes ?? []).filter((n) => !Array.isArray(n.inputs) || n.inputs.length === 0).map((n) => String(n.id)));
    const ids = (d.vertices ?? []).map((v) => String(v.id));
    await Promise.all(
      ids.map(async (vid) => {
        const metricsUrl = `${base}/vertices/${vid}/subtasks/metrics`;
        const task = await this.getFlink(`${metricsUrl}?get=${TASK_METRIC_IDS.join(',')}&agg=sum,max`, signal);
        if (task.ok) raw.taskMetrics[vid] = task.value;
        if (!sources.has(vid)) return;
        const key = `${jobId}/${vid}`;
        let wanted = this.sourceIds.get(key);
        if (!wanted) {
          const listing = await this.getFlink(metricsUrl, signal);
          if (!listing.ok) return;
          const found = sourceMetricIds(listing.value);
          wanted = [found.pending, found.readRate].filter((x): x is string => x !== null);
          if (wanted.length === 0) return;
          this.sourceIds.set(key, wanted);
        }
        // One request per id: an aggregation answers [] when any id is missing on any subtask.
        const answers = await Promise.all(wanted.map((id) => this.getFlink(`${metricsUrl}?get=${encodeURIComponent(id)}&agg=sum`, signal)));
        raw.sourceMetrics[vid] = answers.flatMap((a) => (a.ok && Array.isArray(a.value) ? a.value : []));
      }),
    );
    return raw;
  }

  /** One round of requests; the answers, not yet interpreted. */
  async poll(signal?: AbortSignal): Promise<RawStatus> {
    const agentPart = async (): Promise<Pick<RawStatus, 'alerts' | 'decisions'>> => {
      if (this.agentUrl === null) return { alerts: null, decisions: null };
      const [alerts, decisions] = await Promise.all([this.getJson(`${this.agentUrl}/api/v1/alerts`, signal), this.getJson(`${this.agentUrl}/api/v1/scaling/decisions?limit=100`, signal)]);
      return { alerts, decisions };
    };
    const enginePart = async (): Promise<Pick<RawStatus, 'clusterOverview' | 'jobsOverview' | 'jobs'>> => {
      const [clusterOverview, jobsOverview] = await Promise.all([this.getFlink('/overview', signal), this.getFlink('/jobs/overview', signal)]);
      const jobs: Record<string, RawJob> = {};
      if (jobsOverview.ok) {
        const live = jobsToShow(jobsOverview.value).filter((j) => !TERMINAL_STATES.has(String(j.state)));
        await Promise.all(live.map(async (j) => (jobs[String(j.jid)] = await this.pollJob(String(j.jid), signal))));
      }
      return { clusterOverview, jobsOverview, jobs };
    };
    const [engine, agent] = await Promise.all([enginePart(), agentPart()]);
    return { time: Date.now(), restUrl: this.restUrl, agentUrl: this.agentUrl, ...engine, ...agent };
  }

  async close(): Promise<void> {
    await this.dispatcher.close().catch(() => undefined);
    await this.flink.close().catch(() => undefined);
  }
}
