/**
 * The read-only parts of Prometheus's HTTP API that Grafana's Prometheus data source and
 * Prometheus's own UI use beside queries: metric metadata (`/metadata`, `/targets/metadata`),
 * `/format_query` (Prometheus's prettifier), `/status/config|flags|tsdb|buildinfo` and `/alertmanagers`. Shapes follow
 * Prometheus's web/api/v1; the data comes from the agent (its scrape targets' `# TYPE`/`# HELP`,
 * its effective configuration, its store). The agent's PromQL follows Prometheus 3 (the 3.x
 * conformance scripts, left-open ranges, no `holt_winters`), so buildinfo claims that version.
 */
import { stringify } from 'yaml';
import type { FamilyMetadata } from '../collect/prometheus-text.ts';
import type { TargetHealth } from '../collect/scraper.ts';
import { parseExpr, prettify } from '../promql/index.ts';
import type { TsdbStatus } from '../tsdb/index.ts';
import { ApiError } from './params.ts';

/** The Prometheus version whose PromQL semantics and conformance scripts the agent follows. */
export const PROMETHEUS_COMPAT_VERSION = '3.14.0';

export interface StatusSource {
  /** Each scrape target with the metric families it described at its last successful scrape. */
  targetMetadata?: () => Array<{ target: TargetHealth; families: ReadonlyMap<string, FamilyMetadata> }>;
  /** The effective configuration, secrets already left out. */
  config?: () => unknown;
  /** Command-line flags as given (name without dashes → value). */
  flags?: () => Record<string, string>;
  tsdb?: (limit: number) => TsdbStatus;
  /** Alertmanager base URLs alerts are sent to. */
  alertmanagers?: () => readonly string[];
}

type Form = URLSearchParams;

function intParam(form: Form, name: string, dflt: number): number {
  const raw = form.get(name);
  if (raw === null || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n)) throw new ApiError('bad_data', `invalid parameter "${name}": strconv.Atoi: parsing ${JSON.stringify(raw)}: invalid syntax`);
  return n;
}

/** /api/v1/metadata: family → [{type, help, unit}], one entry per distinct description, `limit` families. */
function metadata(src: StatusSource, form: Form): Record<string, Array<{ type: string; help: string; unit: string }>> {
  const limit = intParam(form, 'limit', -1);
  const perMetric = intParam(form, 'limit_per_metric', -1);
  const only = form.get('metric') ?? '';
  const out = new Map<string, Map<string, { type: string; help: string; unit: string }>>();
  for (const { families } of src.targetMetadata?.() ?? []) {
    for (const [name, md] of families) {
      if (only !== '' && name !== only) continue;
      let list = out.get(name);
      if (list === undefined) out.set(name, (list = new Map()));
      const entry = { type: md.type, help: md.help, unit: '' };
      list.set(`${entry.type}\u0000${entry.help}`, entry);
    }
  }
  const result: Record<string, Array<{ type: string; help: string; unit: string }>> = {};
  for (const name of [...out.keys()].sort()) {
    if (limit >= 0 && Object.keys(result).length >= limit) break;
    const entries = [...out.get(name)!.values()];
    result[name] = perMetric >= 0 ? entries.slice(0, perMetric) : entries;
  }
  return result;
}

/** /api/v1/targets/metadata: [{target, metric, type, help, unit}] filtered by match_target and metric. */
function targetMetadata(src: StatusSource, form: Form): Array<{ target: Record<string, string>; metric: string; type: string; help: string; unit: string }> {
  const limit = intParam(form, 'limit', -1);
  const metric = form.get('metric') ?? '';
  const match = form.get('match_target') ?? '';
  let matchers: Array<{ name: string; matches: (v: string) => boolean }> = [];
  if (match !== '') {
    let e;
    try {
      e = parseExpr(match);
    } catch (err) {
      throw new ApiError('bad_data', `invalid parameter "match_target": ${(err as Error).message}`);
    }
    if (e.kind !== 'vector_selector') throw new ApiError('bad_data', 'invalid parameter "match_target": not a label selector');
    matchers = e.matchers.map((m) => ({ name: m.name, matches: (v: string) => m.matches(v) }));
  }
  const out: Array<{ target: Record<string, string>; metric: string; type: string; help: string; unit: string }> = [];
  for (const { target, families } of src.targetMetadata?.() ?? []) {
    if (!matchers.every((m) => m.matches(target.labels[m.name] ?? ''))) continue;
    for (const [name, md] of families) {
      if (metric !== '' && name !== metric) continue;
      if (limit >= 0 && out.length >= limit) return out;
      out.push({ target: { instance: target.labels.instance ?? '', job: target.labels.job ?? '' }, metric: name, type: md.type, help: md.help, unit: '' });
    }
  }
  return out;
}

/** Answers one of these endpoints (the path after /api/v1/), or returns undefined when it is not one of them. */
export function statusRoute(rest: string, form: Form, src: StatusSource, version: string): { data: unknown } | undefined {
  switch (rest) {
    case 'metadata':
      return { data: metadata(src, form) };
    case 'targets/metadata':
      return { data: targetMetadata(src, form) };
    case 'format_query': {
      const q = form.get('query') ?? '';
      try {
        return { data: prettify(parseExpr(q)) };
      } catch (err) {
        throw new ApiError('bad_data', `invalid parameter "query": ${(err as Error).message}`);
      }
    }
    case 'status/config':
      return { data: { yaml: stringify(src.config?.() ?? {}) } };
    case 'status/flags':
      return { data: src.flags?.() ?? {} };
    case 'status/tsdb':
      if (src.tsdb === undefined) return undefined;
      return { data: src.tsdb(intParam(form, 'limit', 10)) };
    case 'alertmanagers':
      return {
        data: {
          activeAlertmanagers: (src.alertmanagers?.() ?? []).map((u) => ({ url: `${u.replace(/\/$/, '')}/api/v2/alerts` })),
          droppedAlertmanagers: [],
        },
      };
    case 'status/buildinfo':
      return { data: { version: PROMETHEUS_COMPAT_VERSION, revision: `flowpilot-${version}`, branch: 'flowpilot', buildUser: 'flowpilot', buildDate: '', goVersion: 'none (flowpilot agent on Node.js)' } };
    default:
      return undefined;
  }
}

const SECRET_KEY = /password|secret|token|credentials|bearer|^key$/i;

/** A configuration with every value under a secret-looking key shown as Prometheus shows secrets. */
export function redactSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) && (typeof v === 'string' || typeof v === 'number') && !/_file$|File$/.test(k) ? '<secret>' : redactSecrets(v);
  return out;
}

/** A configuration as flat `a.b.c` → string entries (what /status/flags lists), secrets redacted. */
export function flattenSettings(value: unknown, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  const v = prefix === '' ? redactSecrets(value) : value;
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) flattenSettings(x, prefix === '' ? k : `${prefix}.${k}`, out);
  } else if (prefix !== '') out[prefix] = typeof v === 'string' ? v : JSON.stringify(v) ?? '';
  return out;
}
