/** The autoscaler: parallelism over time, true vs target rate, the utilization band, decisions and alerts. */
import { agentSel, type DashboardSpec } from './layout.ts';

export const autoscaler: DashboardSpec = {
  uid: 'flowpilot-autoscaler',
  title: 'flowpilot / Autoscaler',
  description: 'What the flowpilot agent sees and decides: the capacity model per vertex, its decisions and the alerts that gate them.',
  rows: [
    {
      title: 'Parallelism',
      panels: [
        { title: 'Parallelism by vertex', kind: 'timeseries', min: 0, queries: [{ expr: `flowpilot_scaling_current_parallelism{${agentSel}}`, legend: '{{vertex_id}}' }] },
        { title: 'Recommended parallelism by vertex', kind: 'timeseries', min: 0, queries: [{ expr: `flowpilot_scaling_recommended_parallelism{${agentSel}}`, legend: '{{vertex_id}}' }] },
      ],
    },
    {
      title: 'Capacity model',
      panels: [
        {
          title: 'True processing rate vs target rate', kind: 'timeseries', unit: 'rps', min: 0,
          queries: [
            { expr: `flowpilot_scaling_true_rate{${agentSel}}`, legend: 'true {{vertex_id}}' },
            { expr: `flowpilot_scaling_target_rate{${agentSel}}`, legend: 'target {{vertex_id}}' },
          ],
        },
        {
          title: 'Utilization and its band', kind: 'timeseries', unit: 'percentunit', min: 0,
          queries: [
            { expr: `flowpilot_scaling_utilization{${agentSel}}`, legend: '{{vertex_id}}' },
            { expr: `max(flowpilot_scaling_utilization_band_low{${agentSel}})`, legend: 'band low' },
            { expr: `max(flowpilot_scaling_utilization_band_high{${agentSel}})`, legend: 'band high' },
          ],
        },
      ],
    },
    {
      title: 'Decisions and alerts',
      panels: [
        { title: 'Decisions per hour by action', kind: 'timeseries', min: 0, queries: [{ expr: `sum by (action) (increase(flowpilot_scaling_decisions_total{${agentSel}}[1h]))`, legend: '{{action}}' }] },
        { title: 'Firing alerts', kind: 'table', queries: [{ expr: 'ALERTS{alertstate="firing"}', instant: true }] },
      ],
    },
  ],
};
