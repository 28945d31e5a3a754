/**
 * The agent's one Flink REST client (research/flink-api.md §1), used by collection
 * (agent/collect/flink-rest.ts) and by actuation (agent/actuate/). Requests go through an undici
 * `Pool` for the JobManager's origin: `concurrency` connections at most, further requests queue in
 * the pool, and the timeout runs per request once it is on a connection (headers and body
 * timeouts, plus the connect timeout). Flink's `{"errors":[...]}` bodies become FlowpilotErrors
 * with a code from FLINK_REST_ERRORS, the single table of this client's failures.
 *
 * Read side: JSON GETs, the metric endpoints' quirks (bare arrays, string values, "NaN" in
 * aggregates, `get=` lists kept under Netty's 4096-byte request-line limit by chunking).
 * Write side: resource requirements, savepoints, stop-with-savepoint, jar run, cancel. Only
 * documented request fields are sent: Flink ≤ 1.19 rejects unknown ones with 400.
 *
 * Transport options (TLS, mTLS, bearer or basic auth, as Prometheus' http_config has them) enter
 * through `http`: `connect` goes to the Pool's connector, `headers` onto every request, or a ready
 * `dispatcher` replaces the Pool.
 */
import { Pool, type Dispatcher, type buildConnector } from 'undici';
import { IDEMPOTENT_METHODS, isStaleConnection } from '../http/stale-connection.ts';
import { FlowpilotError, errorMessage } from '../../common/errors.ts';
import {
  TERMINAL_JOB_STATES,
  type AsyncOperation,
  type CheckpointPaths,
  type DashboardConfig,
  type JobDetails,
  type JobOverview,
  type ResourceRequirements,
} from './rest-types.ts';

/** Every way a Flink REST call fails, and what it means. Callers branch on these codes only. */
export const FLINK_REST_ERRORS = {
  FP_FLINK_NOT_FOUND: 'HTTP 404: no such job, vertex, trigger id or route (also /checkpoints with checkpointing off)',
  FP_FLINK_REST: 'another HTTP status ≥ 400; details.httpStatus carries it, the message carries Flink\'s first error line',
  FP_FLINK_BAD_JSON: 'HTTP 200 with a body that is not JSON',
  FP_FLINK_TIMEOUT: 'no connection, headers or body within the timeout',
  FP_FLINK_UNREACHABLE: 'the connection failed (refused, reset, DNS, TLS)',
} as const;

export type FlinkRestErrorCode = keyof typeof FLINK_REST_ERRORS;

export function isFlinkRestError(err: unknown, code: FlinkRestErrorCode): err is FlowpilotError {
  return err instanceof FlowpilotError && err.code === code;
}

/** Transport settings: the place for TLS, mTLS and authentication (Prometheus-style http_config). */
export interface FlinkHttpOptions {
  /**
   * undici connector options for the Pool (ca, cert, key, servername, rejectUnauthorized, ...), or
   * a connector function (agent/http/http-config.ts, which re-reads rotated certificate files).
   */
  connect?: buildConnector.BuildOptions | buildConnector.connector;
  /** Headers sent on every request, e.g. `authorization: Bearer ...`; a function is asked per request (rotated tokens). */
  headers?: Record<string, string> | (() => Record<string, string>);
  /** Use this dispatcher instead of the client's own Pool (its owner closes it). */
  dispatcher?: Dispatcher;
}

export interface FlinkRestClientOptions {
  /** e.g. http://127.0.0.1:8081 (a path prefix is kept, a trailing slash dropped). */
  baseUrl: string;
  /** Per request: connect, time to headers, and longest gap in the body. Default 10 s. */
  timeoutMs?: number;
  /** Connections (requests in flight) at once. Default 8. */
  concurrency?: number;
  /** How long an idle connection is kept when the server gives no Keep-Alive timeout. Default 60 s. */
  keepAliveMs?: number;
  http?: FlinkHttpOptions;
}

export interface MetricValue {
  id: string;
  value: string;
}

export interface AggregatedMetric {
  id: string;
  min?: number;
  max?: number;
  avg?: number;
  sum?: number;
  skew?: number;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH';

/** Longest `get=` query value per request; Flink's Netty decoder rejects request lines over 4096 bytes. */
const MAX_GET_CHARS = 3000;

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

export class FlinkRestClient {
  readonly baseUrl: string;
  readonly timeoutMs: number;
  private readonly origin: string;
  private readonly prefix: string;
  private readonly headers: Record<string, string> | (() => Record<string, string>);
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  /** the headers of a request without a body when they are fixed (built once) */
  private getHeaders: Record<string, string> | undefined;

  constructor(opts: FlinkRestClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    let url: URL;
    try {
      url = new URL(this.baseUrl);
    } catch {
      throw new FlowpilotError('FP_CONFIG_INVALID', `the Flink REST URL "${opts.baseUrl}" is not a URL`);
    }
    this.origin = url.origin;
    this.prefix = url.pathname.replace(/\/+$/, '');
    const headers = opts.http?.headers;
    this.headers = typeof headers === 'function' ? headers : { ...(headers ?? {}) };
    const connect = opts.http?.connect;
    if (opts.http?.dispatcher) {
      this.dispatcher = opts.http.dispatcher;
      this.ownsDispatcher = false;
    } else {
      this.dispatcher = new Pool(this.origin, {
        connections: Math.max(1, opts.concurrency ?? 8),
        // Flink's REST server answers `Connection: keep-alive` without a timeout hint, so undici
        // would close an idle connection after its default 4 s: with a 10 s collection interval,
        // new TCP connections every collection. Kept a minute instead (a connection the server
        // closed meanwhile is retried once on a fresh one, see call()).
        keepAliveTimeout: opts.keepAliveMs ?? 60_000,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        connect: typeof connect === 'function' ? connect : { timeout: this.timeoutMs, ...(connect ?? {}) },
      });
      this.ownsDispatcher = true;
    }
  }

  /** Closes the client's own Pool (a dispatcher passed in is left to its owner). */
  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  /** One call; a non-2xx status, a transport failure or a bad 200 body throws a FLINK_REST_ERRORS code. */
  private async call<T>(method: Method, path: string, opts: { body?: unknown; signal?: AbortSignal | undefined; allowEmpty?: boolean } = {}): Promise<T> {
    const url = this.baseUrl + path;
    let statusCode: number;
    let text: string;
    const headers = typeof this.headers === 'function' || opts.body !== undefined
      ? {
          accept: 'application/json',
          ...(typeof this.headers === 'function' ? this.headers() : this.headers),
          ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }),
        }
      : (this.getHeaders ??= { accept: 'application/json', ...this.headers });
    const send = (): Promise<{ statusCode: number; text: string }> => dispatchText(this.dispatcher, {
      origin: this.origin,
      path: this.prefix + path,
      method,
      headers,
      ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
    }, opts.signal);
    try {
      let res: { statusCode: number; text: string };
      try {
        res = await send();
      } catch (err) {
        // The JobManager closed an idle kept-alive connection just as it was reused: once more on a fresh one.
        if (opts.signal?.aborted || !IDEMPOTENT_METHODS.has(method) || !isStaleConnection(err)) throw err;
        res = await send();
      }
      statusCode = res.statusCode;
      text = res.text;
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      const code = (err as { code?: string }).code;
      if (code !== undefined && TIMEOUT_CODES.has(code)) {
        throw new FlowpilotError('FP_FLINK_TIMEOUT', `${method} ${url}: no answer within ${this.timeoutMs} ms`, { cause: err });
      }
      throw new FlowpilotError('FP_FLINK_UNREACHABLE', `${method} ${url}: ${errorMessage(err)}`, { cause: err });
    }
    if (statusCode >= 200 && statusCode < 300) {
      if (text === '' && opts.allowEmpty) return null as T;
      try {
        return JSON.parse(text) as T;
      } catch (err) {
        if (opts.allowEmpty) return null as T;
        throw new FlowpilotError('FP_FLINK_BAD_JSON', `${method} ${url}: the response is not JSON (${errorMessage(err)})`, { details: { httpStatus: statusCode } });
      }
    }
    let detail = text.slice(0, 300);
    try {
      const body = JSON.parse(text) as { errors?: unknown };
      if (Array.isArray(body.errors)) detail = body.errors.map(String).join('; ').split('\n')[0]!;
    } catch {
      // keep the raw text
    }
    const code: FlinkRestErrorCode = statusCode === 404 ? 'FP_FLINK_NOT_FOUND' : 'FP_FLINK_REST';
    throw new FlowpilotError(code, `${method} ${url}: HTTP ${statusCode}: ${detail}`, { details: { httpStatus: statusCode } });
  }

  // ---- read side ------------------------------------------------------------------------

  /** GETs a JSON document. */
  async get<T>(path: string, signal?: AbortSignal): Promise<T> {
    return this.call<T>('GET', path, { signal });
  }

  /** GET that turns a 404 into null (e.g. /checkpoints when checkpointing is off). */
  async getOptional<T>(path: string, signal?: AbortSignal): Promise<T | null> {
    try {
      return await this.get<T>(path, signal);
    } catch (err) {
      if (isFlinkRestError(err, 'FP_FLINK_NOT_FOUND')) return null;
      throw err;
    }
  }

  /** GET /config: the Flink version and web features. */
  async config(signal?: AbortSignal): Promise<DashboardConfig> {
    return this.get<DashboardConfig>('/config', signal);
  }

  /** Lists the metric ids a metric endpoint offers (no `get=`). */
  async listMetrics(path: string, signal?: AbortSignal): Promise<string[]> {
    const body = await this.get<Array<{ id: string }>>(path, signal);
    return Array.isArray(body) ? body.map((m) => m.id) : [];
  }

  /** Reads metric values, chunking the `get=` list; unknown ids are silently absent, as in Flink. */
  async getMetrics(path: string, ids: readonly string[], signal?: AbortSignal, extraQuery = ''): Promise<MetricValue[]> {
    const out: MetricValue[] = [];
    await Promise.all(
      chunkIds(ids).map(async (chunk) => {
        const body = await this.get<MetricValue[]>(`${path}?get=${chunk}${extraQuery}`, signal);
        if (Array.isArray(body)) out.push(...body);
      }),
    );
    return out;
  }

  /**
   * Reads aggregated metrics (`agg=`). Only pass ids that exist: Flink answers [] if any is
   * missing. Non-finite aggregates arrive quoted ("NaN"); they come back as NaN / ±Infinity.
   */
  async getAggregated(path: string, ids: readonly string[], aggs: readonly string[], signal?: AbortSignal): Promise<AggregatedMetric[]> {
    const raw = (await this.getMetrics(path, ids, signal, `&agg=${aggs.join(',')}`)) as unknown as Array<Record<string, unknown>>;
    return raw.map((m) => {
      const out: AggregatedMetric = { id: String(m.id) };
      for (const k of ['min', 'max', 'avg', 'sum', 'skew'] as const) {
        const v = m[k];
        if (typeof v === 'number' || typeof v === 'string') out[k] = metricNumber(v);
      }
      return out;
    });
  }

  // ---- jobs ------------------------------------------------------------------------------

  /** GET /jobs/:id; null when Flink does not know the job. */
  async job(jobId: string, signal?: AbortSignal): Promise<JobDetails | null> {
    return this.getOptional<JobDetails>(`/jobs/${jobId}`, signal);
  }

  async jobsOverview(signal?: AbortSignal): Promise<JobOverview[]> {
    return (await this.get<{ jobs?: JobOverview[] }>('/jobs/overview', signal)).jobs ?? [];
  }

  /** Jobs with this name that are not in a terminal state (a running copy). */
  async liveJobsNamed(name: string): Promise<JobOverview[]> {
    return (await this.jobsOverview()).filter((j) => j.name === name && !TERMINAL_JOB_STATES.has(j.state));
  }

  // ---- actuation -------------------------------------------------------------------------

  async resourceRequirements(jobId: string): Promise<ResourceRequirements> {
    return this.call<ResourceRequirements>('GET', `/jobs/${jobId}/resource-requirements`);
  }

  async setResourceRequirements(jobId: string, body: ResourceRequirements): Promise<void> {
    await this.call('PUT', `/jobs/${jobId}/resource-requirements`, { body, allowEmpty: true });
  }

  /** Stop-with-savepoint (camelCase `targetDirectory`); `triggerId` makes retries idempotent. */
  async stopWithSavepoint(jobId: string, targetDirectory: string, triggerId: string): Promise<string> {
    const r = await this.call<{ 'request-id': string }>('POST', `/jobs/${jobId}/stop`, { body: { targetDirectory, drain: false, triggerId } });
    return r['request-id'];
  }

  /** A savepoint that leaves the job running (hyphenated `target-directory`). */
  async triggerSavepoint(jobId: string, targetDirectory: string, triggerId: string): Promise<string> {
    const r = await this.call<{ 'request-id': string }>('POST', `/jobs/${jobId}/savepoints`, { body: { 'target-directory': targetDirectory, 'cancel-job': false, triggerId } });
    return r['request-id'];
  }

  /** Polls a savepoint or stop operation; null when the trigger id is unknown (404). */
  async savepointStatus(jobId: string, triggerId: string): Promise<AsyncOperation | null> {
    type Status = { status?: { id?: string }; operation?: { location?: string; 'failure-cause'?: { class?: string; 'stack-trace'?: string } } | null };
    const json = await this.getOptional<Status>(`/jobs/${jobId}/savepoints/${triggerId}`);
    if (json === null) return null;
    if (json.status?.id !== 'COMPLETED') return { status: 'IN_PROGRESS' };
    const op = json.operation ?? {};
    if (typeof op.location === 'string') return { status: 'COMPLETED', location: op.location };
    const fc = op['failure-cause'];
    return { status: 'FAILED', cause: `${fc?.class ?? 'unknown'}: ${(fc?.['stack-trace'] ?? '').split('\n')[0] ?? ''}` };
  }

  async runJar(jarId: string, body: {
    entryClass?: string; programArgsList?: string[]; parallelism?: number; savepointPath?: string;
    allowNonRestoredState?: boolean; flinkConfiguration?: Record<string, string>;
  }): Promise<string> {
    const r = await this.call<{ jobid: string }>('POST', `/jars/${encodeURIComponent(jarId)}/run`, { body });
    return r.jobid;
  }

  async cancel(jobId: string): Promise<void> {
    try {
      await this.call('PATCH', `/jobs/${jobId}?mode=cancel`, { allowEmpty: true });
    } catch (err) {
      // 409: already terminal — the goal (not running) holds.
      if (err instanceof FlowpilotError && (err.details?.httpStatus === 409 || err.code === 'FP_FLINK_NOT_FOUND')) return;
      throw err;
    }
  }

  /** Latest completed checkpoint, latest savepoint and the restore source; nulls when checkpointing is off. */
  async checkpointPaths(jobId: string): Promise<CheckpointPaths> {
    type Stat = { external_path?: string } | null;
    const j = await this.getOptional<{ latest?: { completed?: Stat; savepoint?: Stat; restored?: Stat } }>(`/jobs/${jobId}/checkpoints`);
    return {
      latestCompleted: j?.latest?.completed?.external_path ?? null,
      latestSavepoint: j?.latest?.savepoint?.external_path ?? null,
      restored: j?.latest?.restored?.external_path ?? null,
    };
  }
}

/**
 * One request through `dispatcher.dispatch` with a handler that keeps the body's chunks and
 * decodes them once at the end: the same request as `dispatcher.request` (the dispatcher's
 * timeouts apply, an abort of `signal` aborts it), without its response stream per request
 * (a Readable, its consumer and their events): that machinery was most of the client's CPU per
 * collection (BENCHMARKS.md, "Fleet").
 */
function dispatchText(dispatcher: Dispatcher, options: Dispatcher.DispatchOptions, signal: AbortSignal | undefined): Promise<{ statusCode: number; text: string }> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason ?? new Error('aborted'));
      return;
    }
    let controller: Dispatcher.DispatchController | null = null;
    let statusCode = 0;
    const chunks: Buffer[] = [];
    let settled = false;
    const onAbort = (): void => controller?.abort(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    const done = (): void => {
      settled = true;
      signal?.removeEventListener('abort', onAbort);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c;
        if (signal?.aborted) onAbort();
      },
      onResponseStart(_c, code) {
        statusCode = code;
      },
      onResponseData(_c, chunk) {
        chunks.push(chunk);
      },
      onResponseEnd() {
        if (settled) return;
        done();
        resolve({ statusCode, text: chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8') });
      },
      onResponseError(_c, err) {
        if (settled) return;
        done();
        reject(signal?.aborted ? (signal.reason ?? err) : err);
      },
    };
    try {
      dispatcher.dispatch(options, handler);
    } catch (err) {
      done();
      reject(err);
    }
  });
}

function chunkIds(ids: readonly string[]): string[] {
  const chunks: string[] = [];
  let cur = '';
  for (const id of ids) {
    const enc = encodeURIComponent(id);
    if (cur.length > 0 && cur.length + enc.length + 1 > MAX_GET_CHARS) {
      chunks.push(cur);
      cur = '';
    }
    cur = cur.length === 0 ? enc : `${cur},${enc}`;
  }
  if (cur.length > 0) chunks.push(cur);
  return chunks;
}

/** Flink's metric values are strings: numbers, "NaN", "true"/"false", or text (which the reporter exports as 0). */
export function metricNumber(value: string | number | undefined): number {
  if (typeof value === 'number') return value;
  if (value === undefined) return Number.NaN;
  if (value === 'true') return 1;
  if (value === 'false') return 0;
  if (value === 'NaN') return Number.NaN;
  if (value === 'Infinity') return Number.POSITIVE_INFINITY;
  if (value === '-Infinity') return Number.NEGATIVE_INFINITY;
  const n = Number(value);
  return value.trim() === '' || Number.isNaN(n) ? 0 : n;
}
