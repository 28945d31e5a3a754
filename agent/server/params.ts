/**
 * Request parameters as Prometheus's HTTP API reads them: form values from the URL and from an
 * application/x-www-form-urlencoded body, times as float Unix seconds or RFC 3339, durations as
 * Prometheus durations (`1h30m`, `15s`) or float seconds, and Go-style renderings of times and
 * values for JSON (RFC 3339 with trimmed fractional digits, `%e` floats).
 */
import type http from 'node:http';
import { parsePromApiDuration } from '../../common/duration.ts';
import { errorMessage } from '../../common/errors.ts';

export class ApiError extends Error {
  readonly errorType: 'bad_data' | 'execution' | 'timeout' | 'canceled' | 'internal' | 'not_found' | 'unavailable';
  constructor(errorType: ApiError['errorType'], message: string) {
    super(message);
    this.errorType = errorType;
  }
}

export const STATUS_OF: Record<ApiError['errorType'], number> = {
  bad_data: 400,
  execution: 422,
  canceled: 499,
  timeout: 503,
  unavailable: 503,
  internal: 500,
  not_found: 404,
};

const MAX_BODY = 1 << 20;

/** URL query plus a urlencoded POST body (body values first, as Go's Request.Form). */
export async function readForm(req: http.IncomingMessage, url: URL): Promise<URLSearchParams> {
  const form = new URLSearchParams();
  if (req.method === 'POST' && String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req as AsyncIterable<Buffer>) {
      size += c.length;
      if (size > MAX_BODY) throw new ApiError('bad_data', 'request body too large');
      chunks.push(c);
    }
    for (const [k, v] of new URLSearchParams(Buffer.concat(chunks).toString('utf8'))) form.append(k, v);
  } else if (req.method === 'POST') {
    for await (const _ of req as AsyncIterable<Buffer>) void _;
  }
  for (const [k, v] of url.searchParams) form.append(k, v);
  return form;
}

/** Prometheus's parseTime: float seconds or RFC 3339. Returns ms. */
export function parseTimeParam(value: string | null, name: string, fallbackMs?: number): number {
  if (value === null || value === '') {
    if (fallbackMs !== undefined) return fallbackMs;
    throw new ApiError('bad_data', `invalid parameter "${name}": cannot parse "" to a valid timestamp`);
  }
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(value)) {
    const secs = Number(value);
    if (Number.isFinite(secs)) return Math.round(secs * 1000);
  }
  if (/^\d{4}-\d{2}-\d{2}T/.test(value)) {
    const t = Date.parse(value);
    if (!Number.isNaN(t)) return t;
  }
  throw new ApiError('bad_data', `invalid parameter "${name}": cannot parse "${value}" to a valid timestamp`);
}

/** Prometheus's parseDuration for API params: float seconds or a duration (common/duration.ts). Returns ms. */
export function parseDurationParam(value: string, name: string): number {
  try {
    return parsePromApiDuration(value);
  } catch (err) {
    throw new ApiError('bad_data', `invalid parameter "${name}": ${errorMessage(err)}`);
  }
}

/** Go's time.Time JSON form (RFC 3339 with nanoseconds, trailing zeros trimmed), in UTC. */
export function goTime(ms: number): string {
  if (ms <= 0) return '0001-01-01T00:00:00Z';
  const iso = new Date(ms).toISOString();
  return iso.replace(/\.(\d*?)0*Z$/, (_m, frac: string) => (frac.length > 0 ? `.${frac}Z` : 'Z'));
}

/** Go's strconv.FormatFloat(v, 'e', -1, 64), used for alert values in the API. */
export function goExp(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const s = v.toExponential();
  return s.replace(/e([+-])(\d)$/, 'e$10$2');
}
