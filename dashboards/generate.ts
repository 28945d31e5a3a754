/**
 * Generates the dashboards' JSON (dashboards/json/*.json) from the TypeScript sources. `--check`
 * compares instead of writing and exits 1 when the checked-in JSON is stale.
 */
import { readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { buildDashboard, type DashboardSpec } from './src/layout.ts';
import { jobOverview } from './src/job-overview.ts';
import { checkpoints } from './src/checkpoints.ts';
import { backpressure } from './src/backpressure.ts';
import { taskmanagers } from './src/taskmanagers.ts';
import { autoscaler } from './src/autoscaler.ts';

export const dashboardSpecs: DashboardSpec[] = [jobOverview, checkpoints, backpressure, taskmanagers, autoscaler];
export const jsonDir = join(import.meta.dirname, 'json');

export function renderDashboards(): Map<string, string> {
  const out = new Map<string, string>();
  for (const spec of dashboardSpecs) {
    out.set(`${spec.uid}.json`, `${JSON.stringify(buildDashboard(spec), null, 2)}\n`);
  }
  return out;
}

export function staleDashboards(): string[] {
  const stale: string[] = [];
  for (const [name, text] of renderDashboards()) {
    const path = join(jsonDir, name);
    if (!existsSync(path) || readFileSync(path, 'utf8') !== text) stale.push(name);
  }
  return stale;
}

if (import.meta.main) {
  if (process.argv.includes('--check')) {
    const stale = staleDashboards();
    if (stale.length > 0) {
      process.stderr.write(`stale dashboards (run node dashboards/generate.ts): ${stale.join(', ')}\n`);
      process.exit(1);
    }
  } else {
    mkdirSync(jsonDir, { recursive: true });
    for (const [name, text] of renderDashboards()) writeFileSync(join(jsonDir, name), text);
  }
}
