/**
 * A small client for the read side of Flink's REST API (research/flink-api.md §1): JSON GETs
 * with undici under a per-request timeout and the caller's AbortSignal, a cap on concurrent
 * requests, Flink's `{"errors":[...]}` bodies turned into FlowpilotErrors, and the metric
 * endpoints' quirks handled (bare arrays, string values, `get=` lists kept under Netty's
 * 4096-byte request-line limit by chunking).
 */
import { request } from 'undici';
import { FlowpilotError, errorMessage } from '../../common/errors.ts';

export interface FlinkRestClientOptions {
  /** e.g. http://127.0.0.1:8081 (a trailing slash or path prefix is kept). */
  baseUrl: string;
  timeoutMs: number;
  /** Requests in flight at once. */
  concurrency?: number;
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

/** Longest `get=` query value per request; Flink's Netty decoder rejects request lines over 4096 bytes. */
const MAX_GET_CHARS = 3000;

export class FlinkRestClient {
  readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly concurrency: number;
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(opts: FlinkRestClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs;
    this.concurrency = Math.max(1, opts.concurrency ?? 8);
  }

  private async slot(): Promise<void> {
    if (this.active < this.concurrency) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
  }

  private release(): void {
    this.active--;
    this.waiting.shift()?.();
  }

  /** GETs a JSON document; 404 → FP_FLINK_REST_NOT_FOUND, other non-200 → FP_FLINK_REST_STATUS. */
  async get<T>(path: string, signal: AbortSignal): Promise<T> {
    await this.slot();
    const url = this.baseUrl + path;
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const combined = AbortSignal.any([signal, timeout]);
    try {
      const res = await request(url, { method: 'GET', signal: combined, headers: { accept: 'application/json' } });
      const text = await res.body.text();
      if (res.statusCode === 200) {
        try {
          return JSON.parse(text) as T;
        } catch (err) {
          throw new FlowpilotError('FP_FLINK_REST_BAD_JSON', `GET ${url}: the response is not JSON (${errorMessage(err)})`);
        }
      }
      let detail = text.slice(0, 300);
      try {
        const body = JSON.parse(text) as { errors?: unknown };
        if (Array.isArray(body.errors)) detail = body.errors.map(String).join('; ').split('\n')[0]!;
      } catch {
        // keep the raw text
      }
      const code = res.statusCode === 404 ? 'FP_FLINK_REST_NOT_FOUND' : 'FP_FLINK_REST_STATUS';
      throw new FlowpilotError(code, `GET ${url}: HTTP ${res.statusCode}: ${detail}`, { details: { status: res.statusCode } });
    } catch (err) {
      if (err instanceof FlowpilotError) throw err;
      if (timeout.aborted && !signal.aborted) throw new FlowpilotError('FP_REST_TIMEOUT', `GET ${url}: no answer within ${this.timeoutMs} ms`);
      throw new FlowpilotError('FP_FLINK_REST_UNREACHABLE', `GET ${url}: ${errorMessage(err)}`, { cause: err });
    } finally {
      this.release();
    }
  }

  /** GET that turns a 404 into null (e.g. /checkpoints when checkpointing is off). */
  async getOptional<T>(path: string, signal: AbortSignal): Promise<T | null> {
    try {
      return await this.get<T>(path, signal);
    } catch (err) {
      if (err instanceof FlowpilotError && err.code === 'FP_FLINK_REST_NOT_FOUND') return null;
      throw err;
    }
  }

  /** Lists the metric ids a metric endpoint offers (no `get=`). */
  async listMetrics(path: string, signal: AbortSignal): Promise<string[]> {
    const body = await this.get<Array<{ id: string }>>(path, signal);
    return Array.isArray(body) ? body.map((m) => m.id) : [];
  }

  /** Reads metric values, chunking the `get=` list; unknown ids are silently absent, as in Flink. */
  async getMetrics(path: string, ids: readonly string[], signal: AbortSignal, extraQuery = ''): Promise<MetricValue[]> {
    const out: MetricValue[] = [];
    await Promise.all(
      chunkIds(ids).map(async (chunk) => {
        const body = await this.get<MetricValue[]>(`${path}?get=${chunk}${extraQuery}`, signal);
        if (Array.isArray(body)) out.push(...body);
      }),
    );
    return out;
  }

  /** Reads aggregated metrics (`agg=`). Only pass ids that exist: Flink answers [] if any is missing. */
  async getAggregated(path: string, ids: readonly string[], aggs: readonly string[], signal: AbortSignal): Promise<AggregatedMetric[]> {
    return this.getMetrics(path, ids, signal, `&agg=${aggs.join(',')}`) as unknown as Promise<AggregatedMetric[]>;
  }
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
