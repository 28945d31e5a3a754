/**
 * The `data` objects of Prometheus's /api/v1/rules and /api/v1/alerts, built from the
 * rule manager's state so the agent's HTTP server can answer in Prometheus's JSON shape
 * (Grafana and other clients read it). Times are RFC 3339 in UTC as Go prints them;
 * alert values use Go's %e shortest form ("1e+01"), as Prometheus's API does.
 */
import { AlertingRule } from './alerting.ts';
import type { RuleGroup } from './group.ts';
import { formatFloat } from './template/index.ts';
import type { Alert } from './types.ts';

const ZERO_TIME = '0001-01-01T00:00:00Z';

/** Go's time.Time JSON form for a UTC instant in ms (trailing fractional zeros dropped). */
export function goTimeJSON(ms: number): string {
  if (ms === 0) return ZERO_TIME;
  return new Date(ms).toISOString().replace(/\.(\d*?)0*Z$/, (_m, frac: string) => (frac === '' ? 'Z' : `.${frac}Z`));
}

export interface ApiAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
  activeAt: string;
  /** set while an alert is kept firing by keep_firing_for */
  keepFiringSince?: string;
  value: string;
}

function apiAlert(a: Alert): ApiAlert {
  return {
    labels: { ...a.labels },
    annotations: { ...a.annotations },
    state: a.state as 'pending' | 'firing',
    activeAt: goTimeJSON(a.activeAt),
    ...(a.keepFiringSince > 0 ? { keepFiringSince: goTimeJSON(a.keepFiringSince) } : {}),
    value: formatFloat(a.value, 'e', -1),
  };
}

export interface RulesFilter {
  type?: 'alert' | 'record';
  ruleNames?: string[];
  groupNames?: string[];
  files?: string[];
}

/** /api/v1/rules `data`. */
export function rulesApiData(groups: readonly RuleGroup[], filter: RulesFilter = {}): { groups: unknown[] } {
  const out: unknown[] = [];
  for (const g of groups) {
    if (filter.groupNames?.length && !filter.groupNames.includes(g.name)) continue;
    if (filter.files?.length && !filter.files.includes(g.file)) continue;
    const rules: unknown[] = [];
    for (const r of g.rules) {
      if (filter.ruleNames?.length && !filter.ruleNames.includes(r.name)) continue;
      // Key order as Prometheus's encoder writes it.
      const tail = {
        health: r.health,
        ...(r.lastError ? { lastError: r.lastError } : {}),
        evaluationTime: r.evaluationDurationMs / 1000,
        lastEvaluation: goTimeJSON(r.lastEvaluation),
      };
      if (r instanceof AlertingRule) {
        if (filter.type === 'record') continue;
        rules.push({
          state: r.state(),
          name: r.name,
          query: r.def.expr,
          duration: r.def.forMs / 1000,
          keepFiringFor: r.def.keepFiringForMs / 1000,
          labels: { ...r.def.labels },
          annotations: { ...r.def.annotations },
          alerts: r.activeAlerts().map(apiAlert),
          ...tail,
          type: 'alerting',
        });
      } else {
        if (filter.type === 'alert') continue;
        const labels = Object.keys(r.def.labels).length > 0 ? { labels: { ...r.def.labels } } : {};
        rules.push({ name: r.name, query: r.def.expr, ...labels, ...tail, type: 'recording' });
      }
    }
    if (rules.length === 0 && (filter.ruleNames?.length || filter.type)) continue;
    out.push({
      name: g.name,
      file: g.file,
      rules,
      interval: g.intervalMs / 1000,
      limit: g.limit,
      evaluationTime: g.evaluationDurationMs / 1000,
      lastEvaluation: goTimeJSON(g.lastEvaluation),
    });
  }
  return { groups: out };
}

/** /api/v1/alerts `data`: every pending and firing alert. */
export function alertsApiData(groups: readonly RuleGroup[]): { alerts: ApiAlert[] } {
  const alerts: ApiAlert[] = [];
  for (const g of groups) for (const r of g.rules) if (r instanceof AlertingRule) alerts.push(...r.activeAlerts().map(apiAlert));
  return { alerts };
}
