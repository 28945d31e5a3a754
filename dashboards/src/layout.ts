/**
 * Shared building blocks for flowpilot's Grafana dashboards: the datasource, namespace and job
 * variables, and a layout helper that turns short panel specs into foundation-SDK panels placed on
 * Grafana's 24-column grid. Every dashboard is templated by namespace and job.
 */
import {
  DashboardBuilder, DatasourceVariableBuilder, QueryVariableBuilder, RowBuilder, VariableRefresh, VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TablePanel } from '@grafana/grafana-foundation-sdk/table';
import { LegendDisplayMode, LegendPlacement, VizLegendOptionsBuilder } from '@grafana/grafana-foundation-sdk/common';

export const datasource = { type: 'prometheus', uid: '${datasource}' };

/** The selector every Flink-metric query carries, so each dashboard follows the variables. */
export const jobSel = 'namespace=~"$namespace", job_name=~"$job_name"';
/** The same for flowpilot's own metrics, which label the job by job_name too. */
export const agentSel = 'namespace=~"$namespace", job_name=~"$job_name"';

export interface QuerySpec {
  expr: string;
  legend?: string;
  /** A table of the latest values instead of a range. */
  instant?: boolean;
}

export interface PanelSpec {
  title: string;
  kind: 'timeseries' | 'stat' | 'table';
  unit?: string;
  min?: number;
  max?: number;
  /** Width on the 24-column grid; default 12 for time series, 6 for stats, 24 for tables. */
  width?: number;
  height?: number;
  description?: string;
  queries: QuerySpec[];
}

export interface RowSpec {
  title: string;
  panels: PanelSpec[];
}

export interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  rows: RowSpec[];
}

function target(q: QuerySpec, i: number): DataqueryBuilder {
  const b = new DataqueryBuilder().expr(q.expr).refId(String.fromCharCode(65 + i)).legendFormat(q.legend ?? '__auto');
  return q.instant ? b.instant() : b.range();
}

function panel(spec: PanelSpec, gridPos: { x: number; y: number; w: number; h: number }):
  TimeseriesPanel | StatPanel | TablePanel {
  const p = spec.kind === 'stat' ? new StatPanel() : spec.kind === 'table' ? new TablePanel() : new TimeseriesPanel();
  p.title(spec.title).datasource(datasource).gridPos(gridPos);
  if (spec.description) p.description(spec.description);
  if (spec.unit) p.unit(spec.unit);
  if (spec.min !== undefined) p.min(spec.min);
  if (spec.max !== undefined) p.max(spec.max);
  if (p instanceof TimeseriesPanel) p.legend(new VizLegendOptionsBuilder().showLegend(true).displayMode(LegendDisplayMode.List).placement(LegendPlacement.Bottom));
  spec.queries.forEach((q, i) => p.withTarget(target(q, i)));
  return p;
}

function defaultWidth(spec: PanelSpec): number {
  return spec.width ?? (spec.kind === 'stat' ? 6 : spec.kind === 'table' ? 24 : 12);
}

export function buildDashboard(spec: DashboardSpec): Dashboard {
  const d = new DashboardBuilder(spec.title)
    .uid(spec.uid)
    .description(spec.description)
    .tags(['flowpilot', 'flink', 'generated'])
    .refresh('30s')
    .time({ from: 'now-1h', to: 'now' })
    .timezone('browser')
    .withVariable(new DatasourceVariableBuilder('datasource').label('Data source').type('prometheus'))
    .withVariable(
      new QueryVariableBuilder('namespace').label('Namespace').datasource(datasource)
        .query('label_values(flink_jobmanager_job_uptime, namespace)')
        .refresh(VariableRefresh.OnTimeRangeChanged).sort(VariableSort.AlphabeticalAsc)
        .multi(true).includeAll(true).allValue('.*'),
    )
    .withVariable(
      new QueryVariableBuilder('job_name').label('Job').datasource(datasource)
        .query('label_values(flink_jobmanager_job_uptime{namespace=~"$namespace"}, job_name)')
        .refresh(VariableRefresh.OnTimeRangeChanged).sort(VariableSort.AlphabeticalAsc)
        .multi(true).includeAll(true).allValue('.*'),
    );
  let y = 0;
  for (const row of spec.rows) {
    // Placed here, not by the SDK: its cursor does not know a row whose panels wrapped onto a second line.
    d.withRow(new RowBuilder(row.title).gridPos({ x: 0, y, w: 24, h: 1 }));
    y += 1;
    let x = 0;
    let rowHeight = 0;
    for (const p of row.panels) {
      const w = defaultWidth(p);
      const h = p.height ?? (p.kind === 'stat' ? 4 : 8);
      if (x + w > 24) {
        x = 0;
        y += rowHeight;
        rowHeight = 0;
      }
      d.withPanel(panel(p, { x, y, w, h }));
      x += w;
      rowHeight = Math.max(rowHeight, h);
    }
    y += rowHeight;
  }
  return d.build();
}
