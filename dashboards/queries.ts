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

/** Substitutes Grafana's template variables as they are sent with "All" selected. */
export function expandVariables(expr: string, rateInterval = '1m'): string {
  return expr
    .replaceAll('$__rate_interval', rateInterval)
    .replaceAll('$__interval', '15s')
    .replaceAll('$__range', '1h')
    .replaceAll('$namespace', '.*')
    .replaceAll('$job_name', '.*');
}
