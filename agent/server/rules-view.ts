/**
 * Renders the rule manager's groups, rules and alerts in the JSON shapes of Prometheus's
 * /api/v1/rules and /api/v1/alerts (v2.42 field set: `keepFiringFor`, `lastError` omitted when
 * empty, alert values as Go `%e` strings, times as RFC 3339). It reads the rule objects through
 * the small structural interfaces below, so the server does not depend on the rule engine's
 * internals beyond these fields.
 */
import { goExp, goTime } from './params.ts';

export interface AlertLike {
  state: string;
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
  value: number;
  activeAt: number;
  keepFiringSince: number;
}

export interface RuleLike {
  readonly name: string;
  readonly def: {
    kind: 'alert' | 'record';
    expr: string;
    forMs: number;
    keepFiringForMs: number;
    labels: Record<string, string>;
    annotations: Record<string, string>;
  };
  health: string;
  lastError: string | null;
  lastEvaluation: number;
  evaluationDurationMs: number;
  state?: () => string;
  activeAlerts?: () => AlertLike[];
}

export interface GroupLike {
  readonly name: string;
  readonly file: string;
  readonly intervalMs: number;
  readonly limit: number;
  readonly rules: readonly RuleLike[];
  lastEvaluation: number;
  evaluationDurationMs: number;
}

/** What the server needs from the rule manager. */
export interface RuleSource {
  groups(): readonly GroupLike[];
  reload(): Promise<{ ok: boolean; problems: readonly unknown[] }>;
}

export interface ApiAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: string;
  activeAt: string;
  keepFiringSince?: string;
  value: string;
}

export function apiAlert(a: AlertLike): ApiAlert {
  return {
    labels: { ...a.labels },
    annotations: { ...a.annotations },
    state: a.state,
    activeAt: goTime(a.activeAt),
    ...(a.keepFiringSince > 0 ? { keepFiringSince: goTime(a.keepFiringSince) } : {}),
    value: goExp(a.value),
  };
}

function apiRule(r: RuleLike): Record<string, unknown> {
  const common = {
    health: r.health,
    ...(r.lastError ? { lastError: r.lastError } : {}),
    evaluationTime: r.evaluationDurationMs / 1000,
    lastEvaluation: goTime(r.lastEvaluation),
  };
  if (r.def.kind === 'alert') {
    return {
      state: r.state?.() ?? 'inactive',
      name: r.name,
      query: r.def.expr,
      duration: r.def.forMs / 1000,
      keepFiringFor: r.def.keepFiringForMs / 1000,
      labels: { ...r.def.labels },
      annotations: { ...r.def.annotations },
      alerts: (r.activeAlerts?.() ?? []).map(apiAlert),
      ...common,
      type: 'alerting',
    };
  }
  return {
    name: r.name,
    query: r.def.expr,
    ...(Object.keys(r.def.labels).length > 0 ? { labels: { ...r.def.labels } } : {}),
    ...common,
    type: 'recording',
  };
}

/** The `data` of /api/v1/rules; `type` is "alert", "record" or null for both. */
export function rulesData(groups: readonly GroupLike[], type: string | null): { groups: unknown[] } {
  return {
    groups: groups.map((g) => ({
      name: g.name,
      file: g.file,
      rules: g.rules.filter((r) => type === null || (type === 'alert' ? r.def.kind === 'alert' : r.def.kind === 'record')).map(apiRule),
      interval: g.intervalMs / 1000,
      limit: g.limit,
      evaluationTime: g.evaluationDurationMs / 1000,
      lastEvaluation: goTime(g.lastEvaluation),
    })),
  };
}

/** The `data` of /api/v1/alerts. */
export function alertsData(groups: readonly GroupLike[]): { alerts: ApiAlert[] } {
  const alerts: ApiAlert[] = [];
  for (const g of groups) for (const r of g.rules) if (r.def.kind === 'alert') for (const a of r.activeAlerts?.() ?? []) alerts.push(apiAlert(a));
  return { alerts };
}
