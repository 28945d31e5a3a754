/**
 * Reads every panel query out of the generated dashboard JSON and turns Grafana's variables into
 * what a user with "All" selected would send, so tests can run the queries against a real
 * Prometheus (and against the agent's own PromQL API).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jsonDir } from './generate.ts';

export interface PanelQuery {
  dashboard: string;
  panel: string;
  refId: string;
  expr: string;
  instant: boolean;
}

interface PanelJson {
  title?: string;
  type?: string;
  panels?: PanelJson[];
  targets?: Array<{ expr?: string; refId?: string; instant?: boolean }>;
}

export function panelQueries(): PanelQuery[] {
  const out: PanelQuery[] = [];
  for (const file of readdirSync(jsonDir).filter((f) => f.endsWith('.json')).sort()) {
    const dash = JSON.parse(readFileSync(join(jsonDir, file), 'utf8')) as { uid: string; panels: PanelJson[] };
    const walk = (panels: PanelJson[]): void => {
      for (const p of panels) {
        if (p.panels) walk(p.panels);
        for (const t of p.targets ?? []) {
          if (t.expr) out.push({ dashboard: dash.uid, panel: p.title ?? '', refId: t.refId ?? '', expr: t.expr, instant: t.instant === true });
        }
      }
    };
    walk(dash.panels);
  }
  return out;
}

/** A dashboard's query variable: its name, its `label_values(selector, label)` query and its "All" value. */
export interface QueryVariable {
  name: string;
  selector: string;
  label: string;
  allValue: string;
}

/** The query variables of one dashboard, in the order Grafana resolves them (each may use the ones before). */
export function dashboardVariables(uid: string): QueryVariable[] {
  for (const file of readdirSync(jsonDir).filter((f) => f.endsWith('.json'))) {
    const dash = JSON.parse(readFileSync(join(jsonDir, file), 'utf8')) as { uid: string; templating?: { list?: Array<{ type?: string; name: string; query?: unknown; allValue?: string }> } };
    if (dash.uid !== uid) continue;
    const out: QueryVariable[] = [];
    for (const v of dash.templating?.list ?? []) {
      if (v.type !== 'query') continue;
      const q = typeof v.query === 'string' ? v.query : (v.query as { query?: string } | undefined)?.query ?? '';
      const m = /^label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$/.exec(q.trim());
      if (m === null) throw new Error(`${uid}: variable ${v.name} has a query this reader does not know: ${q}`);
      out.push({ name: v.name, selector: m[1]!.trim(), label: m[2]!, allValue: v.allValue ?? '.*' });
    }
    return out;
  }
  throw new Error(`no dashboard with uid ${uid}`);
}

/** Grafana's escaping of one selected value for a Prometheus regex matcher (prometheusSpecialRegexEscape). */
export function grafanaRegexEscape(value: string): string {
  return value.replace(/\\/g, '\\\\\\\\').replace(/[$^*+?.()|{}[\]]/g, '\\\\$&');
}

/** Values of `label` on the series `selector` matches (what Grafana's label_values() asks the data source). */
export type LabelValues = (selector: string, label: string) => Promise<string[]>;

/**
 * Sets each variable of a dashboard as a user would: the first value its query returns from the data
 * source (with the variables before it substituted), or "All" when the query returns nothing.
 */
export async function resolveVariables(uid: string, labelValues: LabelValues): Promise<Record<string, string>> {
  const vars: Record<string, string> = {};
  for (const v of dashboardVariables(uid)) {
    const values = (await labelValues(expandVariables(v.selector, '1m', vars), v.label)).sort();
    vars[v.name] = values.length > 0 ? grafanaRegexEscape(values[0]!) : v.allValue;
  }
  return vars;
}

/**
 * Substitutes Grafana's template variables: the given values, and for any variable not given what a
 * user with "All" selected sends (`.*`).
 */
export function expandVariables(expr: string, rateInterval = '1m', vars: Record<string, string> = {}): string {
  let out = expr
    .replaceAll('$__rate_interval', rateInterval)
    .replaceAll('$__interval', '15s')
    .replaceAll('$__range', '1h');
  // Longest names first, so `$job` never eats the start of `$job_name`.
  for (const [name, value] of Object.entries(vars).sort((a, b) => b[0].length - a[0].length)) out = out.replaceAll(`$${name}`, value);
  return out.replaceAll('$namespace', '.*').replaceAll('$job_name', '.*');
}
