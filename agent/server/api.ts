/**
 * The agent's Prometheus-compatible HTTP API, so Grafana (or curl) can use the agent as a
 * Prometheus data source: /api/v1/query, /query_range (GET and POST form), /series, /labels,
 * /label/:name/values, /alerts, /rules, /targets, /metadata, /status/buildinfo, plus
 * POST /-/reload and /-/quit (only with --web.enable-lifecycle), /-/healthy, /-/ready and the ops routes (/metrics, /healthz, /readyz).
 * Success and error bodies follow Prometheus's shapes: `{status:"success",data,...}` and
 * `{status:"error",errorType,error}` with its status codes (bad_data 400, execution 422,
 * canceled 499, timeout 503). `stats=<any>` on query and query_range adds `data.stats`
 * (timings and sample counts; `stats=all` also per step, see promql/stats.ts). The handlers only read; they never block evaluation for long
 * beyond the query they run, which is bounded by the query timeout.
 */
import http from 'node:http';
import { Counter, Histogram, type Registry } from 'prom-client';
import { handleOpsRoute } from '../../common/service-http.ts';
import { errorMessage, isFlowpilotError } from '../../common/errors.ts';
import type { Logger } from '../../common/log.ts';
import { silentLogger } from '../../common/log.ts';
import { parseExpr, toApiData, type PromQLEngine } from '../promql/index.ts';
import { MAX_POINTS_PER_SERIES, promErrorType, resolutionError, toQueryError } from '../promql/errors.ts';
import type { QueryBackend, QueryRequest } from '../promql/query-pool.ts';
import { statsParam, type QueryStats } from '../promql/stats.ts';
import type { LabelMatcher, Labels } from '../tsdb/index.ts';
import type { TargetHealth } from '../collect/scraper.ts';
import { ApiError, STATUS_OF, goTime, parseDurationParam, parseTimeParam, readForm } from './params.ts';
import { alertsApiData, rulesApiData, type RuleGroup } from '../rules/index.ts';
import { statusRoute, type StatusSource } from './prometheus-status.ts';
import { startWebServer, type WebServer, type WebServerOptions } from './web-server.ts';

/** What the server needs from the rule manager. */
export interface RuleSource {
  groups(): readonly RuleGroup[];
  reload(): Promise<{ ok: boolean; problems: readonly unknown[] }>;
}

/** The read side of the store the API lists from (MemoryStorage implements it). */
export interface SeriesIndex {
  series(matchers: readonly LabelMatcher[], minT?: number, maxT?: number): Labels[];
  labelNames(matchers?: readonly LabelMatcher[]): string[];
  labelValues(name: string, matchers?: readonly LabelMatcher[]): string[];
}

export interface AgentApiOptions {
  storage: SeriesIndex;
  engine: PromQLEngine;
  /**
   * Where query, query_range, series, labels and label values run. The agent passes its
   * QueryPool (a worker thread); without it they run here on the engine and storage.
   */
  queries?: QueryBackend;
  registry: Registry;
  rules?: RuleSource;
  targets?: () => TargetHealth[];
  ready: () => string | null;
  /** Upper bound for one query; a `timeout` parameter may only lower it. */
  queryTimeoutMs: number;
  version: string;
  logger?: Logger;
  now?: () => number;
  /** Metadata, configuration, flags, store figures and Alertmanagers for the status endpoints. */
  status?: StatusSource;
  /** Prometheus's --web.enable-lifecycle: POST /-/reload and /-/quit answer only when true (default false). */
  enableLifecycle?: boolean;
  /** Called by POST /-/quit (with the lifecycle API on): begin a clean shutdown. */
  onQuit?: () => void;
  /** Extra routes (e.g. the autoscaler's decisions API); return true when handled. */
  extraRoutes?: (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => Promise<boolean>;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendBody(res: http.ServerResponse, body: string): void {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function success(res: http.ServerResponse, data: unknown, warnings: string[] = [], infos: string[] = []): void {
  sendJson(res, 200, { status: 'success', data, ...(warnings.length > 0 ? { warnings } : {}), ...(infos.length > 0 ? { infos } : {}) });
}

function apiErrorFrom(err: unknown, param?: string): ApiError {
  if (err instanceof ApiError) return err;
  const type = promErrorType(err);
  if (type === 'bad_data' && param !== undefined && isFlowpilotError(err) && (err.code === 'FP_PROMQL_PARSE' || err.code === 'FP_PROMQL_REGEX')) {
    return new ApiError('bad_data', `invalid parameter "${param}": ${err.message}`);
  }
  if (type !== null) return new ApiError(type, errorMessage(err));
  return new ApiError('internal', errorMessage(err));
}

/** Parses each `match[]` into the matchers of one vector selector. */
function parseMatchers(form: URLSearchParams): LabelMatcher[][] {
  return form.getAll('match[]').map((m) => {
    let e;
    try {
      e = parseExpr(m);
    } catch (err) {
      throw apiErrorFrom(toQueryError(err, 'parse'), 'match[]');
    }
    if (e.kind !== 'vector_selector') throw new ApiError('bad_data', `invalid parameter "match[]": 1:1: parse error: expected type instant vector in selector, got ${e.kind}`);
    return [...e.matchers];
  });
}

function timeoutOf(form: URLSearchParams, maxMs: number): number {
  const t = form.get('timeout');
  if (t === null || t === '') return maxMs;
  return Math.min(maxMs, parseDurationParam(t, 'timeout'));
}

export class AgentApi {
  private readonly opts: AgentApiOptions;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly requests: Counter<'handler' | 'code'>;
  private readonly duration: Histogram<'handler'>;

  constructor(opts: AgentApiOptions) {
    this.opts = opts;
    this.log = opts.logger ?? silentLogger();
    this.now = opts.now ?? Date.now;
    this.requests = new Counter({ name: 'flowpilot_http_requests_total', help: 'HTTP API requests by handler and status code.', labelNames: ['handler', 'code'], registers: [opts.registry] });
    this.duration = new Histogram({
      name: 'flowpilot_http_request_duration_seconds',
      help: 'HTTP API request latency by handler.',
      labelNames: ['handler'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers: [opts.registry],
    });
  }

  /** The request listener. */
  handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const started = performance.now();
    const url = new URL(req.url ?? '/', 'http://agent');
    const handler = url.pathname.startsWith('/api/v1/label/') ? '/api/v1/label/:name/values' : url.pathname;
    res.on('finish', () => {
      const known = handler.startsWith('/api/') || handler.startsWith('/-/') || ['/metrics', '/healthz', '/readyz'].includes(handler);
      const h = known ? handler : 'other';
      this.requests.inc({ handler: h, code: String(res.statusCode) });
      this.duration.observe({ handler: h }, (performance.now() - started) / 1000);
    });
    this.route(req, res, url).catch((err: unknown) => {
      const e = apiErrorFrom(err);
      if (e.errorType === 'internal') this.log.error({ err: errorMessage(err), path: url.pathname }, 'API handler failed');
      if (!res.headersSent) sendJson(res, STATUS_OF[e.errorType], { status: 'error', errorType: e.errorType, error: e.message });
      else res.end();
    });
  };

  private async route(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (await handleOpsRoute(req, res, { registry: this.opts.registry, ready: this.opts.ready })) return;
    if (path === '/-/healthy' || path === '/-/ready') {
      const reason = path === '/-/ready' ? this.opts.ready() : null;
      res.writeHead(reason === null ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(reason === null ? (path === '/-/ready' ? 'Prometheus Server is Ready.\n' : 'Prometheus Server is Healthy.\n') : `Service Unavailable: ${reason}\n`);
      return;
    }
    if (path === '/-/reload' || path === '/-/quit') return this.lifecycle(req, res, path);
    if (this.opts.extraRoutes && (await this.opts.extraRoutes(req, res, url))) return;
    if (!path.startsWith('/api/v1/')) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('404 page not found\n');
      return;
    }
    // As Prometheus's API: CORS headers on every answer, OPTIONS (a browser's preflight) is 204.
    res.setHeader('access-control-allow-headers', 'Accept, Authorization, Content-Type, Origin');
    res.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
    res.setHeader('access-control-expose-headers', 'Date');
    if (req.headers.origin !== undefined) res.setHeader('access-control-allow-origin', '*');
    if (method === 'OPTIONS') {
      res.writeHead(204);
      res.end();
      return;
    }
    if (method !== 'GET' && method !== 'POST') {
      sendJson(res, 405, { status: 'error', errorType: 'bad_data', error: `method ${method} not allowed` });
      return;
    }
    const form = await readForm(req, url);
    const rest = path.slice('/api/v1/'.length);
    const status = statusRoute(rest, form, this.opts.status ?? {}, this.opts.version);
    if (status !== undefined) return success(res, status.data);
    switch (rest) {
      case 'query':
        return this.query(req, res, form);
      case 'query_range':
        return this.queryRange(req, res, form);
      case 'series':
        if (this.opts.queries) return this.viaBackend(req, res, form, { kind: 'series', match: this.matchParams(form), start: parseTimeParam(form.get('start'), 'start', -Infinity), end: parseTimeParam(form.get('end'), 'end', Infinity) });
        return this.series(res, form);
      case 'labels':
        if (this.opts.queries) return this.viaBackend(req, res, form, { kind: 'labels', match: form.getAll('match[]') });
        return success(res, this.labelNames(form));
      case 'alerts':
        return success(res, alertsApiData(this.opts.rules?.groups() ?? []));
      case 'rules': {
        const type = form.get('type');
        if (type !== null && type !== '' && type !== 'alert' && type !== 'record') throw new ApiError('bad_data', `invalid parameter "type": not supported value "${type}"`);
        return success(res, rulesApiData(this.opts.rules?.groups() ?? [], {
          ...(type ? { type } : {}),
          ruleNames: form.getAll('rule_name[]'),
          groupNames: form.getAll('rule_group[]'),
          files: form.getAll('file[]'),
        }));
      }
      case 'targets':
        return success(res, this.targetsData(form.get('state')));
      case 'query_exemplars':
        return success(res, []);
      case 'status/runtimeinfo':
        return success(res, { startTime: goTime(this.now() - process.uptime() * 1000), CWD: process.cwd(), reloadConfigSuccess: true, lastConfigTime: goTime(this.now()), goroutineCount: 0, GOMAXPROCS: 1, GOGC: '', GODEBUG: '', storageRetention: '' });
    }
    const lv = /^label\/([^/]+)\/values$/.exec(rest);
    if (lv && this.opts.queries) {
      const name = decodeURIComponent(lv[1]!);
      if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name)) throw new ApiError('bad_data', `invalid label name: "${name}"`);
      return this.viaBackend(req, res, form, { kind: 'label_values', name, match: form.getAll('match[]') });
    }
    if (lv) return this.labelValues(res, decodeURIComponent(lv[1]!), form);
    sendJson(res, 404, { status: 'error', errorType: 'not_found', error: `unknown API endpoint ${path}` });
  }

  private async query(req: http.IncomingMessage, res: http.ServerResponse, form: URLSearchParams): Promise<void> {
    const q = form.get('query') ?? '';
    const t = parseTimeParam(form.get('time'), 'time', this.now());
    const statsRaw = form.get('stats') ?? '';
    if (this.opts.queries) return this.viaBackend(req, res, form, { kind: 'instant', query: q, time: t, ...(statsRaw !== '' ? { stats: statsRaw } : {}) });
    const timeoutMs = timeoutOf(form, this.opts.queryTimeoutMs);
    let expr;
    try {
      expr = parseExpr(q);
    } catch (err) {
      throw apiErrorFrom(toQueryError(err, 'parse'), 'query');
    }
    const stats = statsParam(statsRaw);
    const result = await this.opts.engine.instantQuery(expr, t, { timeoutMs, signal: clientGone(req, res), ...(stats ? { stats } : {}) }).catch((err: unknown) => {
      throw apiErrorFrom(toQueryError(err, 'eval'));
    });
    success(res, withStats(toApiData(result.data), stats), result.warnings, result.infos);
  }

  private async queryRange(req: http.IncomingMessage, res: http.ServerResponse, form: URLSearchParams): Promise<void> {
    const start = parseTimeParam(form.get('start'), 'start');
    const end = parseTimeParam(form.get('end'), 'end');
    if (end < start) throw new ApiError('bad_data', 'invalid parameter "end": end timestamp must not be before start time');
    const stepRaw = form.get('step');
    if (stepRaw === null || stepRaw === '') throw new ApiError('bad_data', 'invalid parameter "step": cannot parse "" to a valid duration');
    const step = parseDurationParam(stepRaw, 'step');
    if (step <= 0) throw new ApiError('bad_data', 'invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer');
    // Go divides durations as integers: 11,000 intervals (11,001 points) pass.
    if (Math.floor((end - start) / step) > MAX_POINTS_PER_SERIES) throw apiErrorFrom(resolutionError());
    const statsRaw = form.get('stats') ?? '';
    if (this.opts.queries) return this.viaBackend(req, res, form, { kind: 'range', query: form.get('query') ?? '', start, end, step, ...(statsRaw !== '' ? { stats: statsRaw } : {}) });
    const timeoutMs = timeoutOf(form, this.opts.queryTimeoutMs);
    let expr;
    try {
      expr = parseExpr(form.get('query') ?? '');
    } catch (err) {
      throw apiErrorFrom(toQueryError(err, 'parse'), 'query');
    }
    const stats = statsParam(statsRaw);
    const result = await this.opts.engine.rangeQuery(expr, start, end, step, { timeoutMs, signal: clientGone(req, res), ...(stats ? { stats } : {}) }).catch((err: unknown) => {
      throw apiErrorFrom(toQueryError(err, 'eval'));
    });
    success(res, withStats(toApiData(result.data), stats), result.warnings, result.infos);
  }

  /** Runs a request on the query backend (the worker) and writes the body it built. */
  private async viaBackend(req: http.IncomingMessage, res: http.ServerResponse, form: URLSearchParams, q: QueryRequest): Promise<void> {
    const timeoutMs = timeoutOf(form, this.opts.queryTimeoutMs);
    const body = await this.opts.queries!.run(q, { timeoutMs, signal: clientGone(req, res) }).catch((err: unknown) => {
      throw apiErrorFrom(toQueryError(err, 'eval'));
    });
    sendBody(res, body);
  }

  private matchParams(form: URLSearchParams): string[] {
    const match = form.getAll('match[]');
    if (match.length === 0) throw new ApiError('bad_data', 'no match[] parameter provided');
    return match;
  }

  private series(res: http.ServerResponse, form: URLSearchParams): void {
    const sets = parseMatchers(form);
    if (sets.length === 0) throw new ApiError('bad_data', 'no match[] parameter provided');
    const start = parseTimeParam(form.get('start'), 'start', -Infinity);
    const end = parseTimeParam(form.get('end'), 'end', Infinity);
    const seen = new Map<string, Labels>();
    for (const matchers of sets) for (const l of this.opts.storage.series(matchers, start, end)) seen.set(JSON.stringify(l), l);
    success(res, [...seen.values()]);
  }

  private labelNames(form: URLSearchParams): string[] {
    const sets = parseMatchers(form);
    if (sets.length === 0) return this.opts.storage.labelNames();
    const names = new Set<string>();
    for (const m of sets) for (const n of this.opts.storage.labelNames(m)) names.add(n);
    return [...names].sort();
  }

  private labelValues(res: http.ServerResponse, name: string, form: URLSearchParams): void {
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name)) throw new ApiError('bad_data', `invalid label name: "${name}"`);
    const sets = parseMatchers(form);
    if (sets.length === 0) return success(res, this.opts.storage.labelValues(name));
    const values = new Set<string>();
    for (const m of sets) for (const v of this.opts.storage.labelValues(name, m)) values.add(v);
    success(res, [...values].sort());
  }

  private targetsData(state: string | null): unknown {
    const active = (this.opts.targets?.() ?? []).map((t) => ({
      discoveredLabels: { __address__: t.labels.instance ?? '', __metrics_path__: safePath(t.scrapeUrl), __scheme__: safeScheme(t.scrapeUrl), job: t.labels.job ?? '' },
      labels: t.labels,
      scrapePool: t.pool,
      scrapeUrl: t.scrapeUrl,
      globalUrl: t.scrapeUrl,
      lastError: t.lastError,
      lastScrape: t.lastScrape === null ? '0001-01-01T00:00:00Z' : goTime(t.lastScrape),
      lastScrapeDuration: t.lastScrapeDurationSeconds,
      health: t.health,
      scrapeInterval: `${t.intervalMs / 1000}s`,
      scrapeTimeout: `${t.timeoutMs / 1000}s`,
    }));
    return { activeTargets: state === 'dropped' ? [] : active, droppedTargets: [] };
  }

  /** /-/reload and /-/quit, behind --web.enable-lifecycle as in Prometheus (403 when it is off). */
  private async lifecycle(req: http.IncomingMessage, res: http.ServerResponse, path: string): Promise<void> {
    if (!this.opts.enableLifecycle) {
      res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('Lifecycle API is not enabled.\n');
      return;
    }
    if (req.method !== 'POST' && req.method !== 'PUT') {
      res.writeHead(405, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('Only POST or PUT requests allowed\n');
      return;
    }
    for await (const _ of req as AsyncIterable<Buffer>) void _;
    if (path === '/-/quit') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('Requesting termination... Goodbye!\n');
      if (this.opts.onQuit) res.once('finish', this.opts.onQuit);
      return;
    }
    if (!this.opts.rules) {
      res.writeHead(200).end();
      return;
    }
    const r = await this.opts.rules.reload();
    if (r.ok) {
      res.writeHead(200).end();
      return;
    }
    res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`failed to reload config: ${r.problems.map((p) => (typeof p === 'string' ? p : formatProblemLike(p))).join('\n')}\n`);
  }
}

/**
 * Aborted when the client goes away before the answer: the engine then stops (errorType
 * `canceled`). The query timeout is the engine's own deadline, so running past it is `timeout`.
 */
function clientGone(req: http.IncomingMessage, res: http.ServerResponse): AbortSignal {
  const ac = new AbortController();
  const onClose = (): void => {
    if (!res.writableEnded) ac.abort(new Error('client closed the connection'));
  };
  req.socket.once('close', onClose);
  res.once('finish', () => req.socket.off('close', onClose));
  return ac.signal;
}

/** `data` with Prometheus's `stats` object after resultType and result, when the query asked for it. */
function withStats(data: { resultType: string; result: unknown }, stats: QueryStats | undefined): unknown {
  return stats === undefined ? data : { ...data, stats: stats.toJSON() };
}

function formatProblemLike(p: unknown): string {
  if (p && typeof p === 'object') {
    const o = p as { file?: string; line?: number; column?: number; message?: string };
    if (o.message) return o.file ? `${o.file}:${o.line ?? 0}:${o.column ?? 0}: ${o.message}` : o.message;
  }
  return JSON.stringify(p);
}

function safePath(u: string): string {
  try {
    return new URL(u).pathname;
  } catch {
    return '';
  }
}

function safeScheme(u: string): string {
  try {
    return new URL(u).protocol.replace(':', '');
  } catch {
    return '';
  }
}

export type AgentServer = WebServer;

/** Listens for the API; with `webConfigFile`, behind TLS and basic auth (web-server.ts). */
export async function startAgentServer(host: string, port: number, api: AgentApi, web: WebServerOptions = {}): Promise<AgentServer> {
  return startWebServer(host, port, api.handle, web);
}
