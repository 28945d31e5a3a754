/**
 * The autoscaler: parallelism over time, true vs target rate, the utilization band, decisions and
 * alerts; and the fleet (fleet mode: every job of every replica, by the namespace and
 * resource_name labels of the flowpilot_scaling_* series, and the replicas' flowpilot_fleet_jobs).
 */
import { agentSel, type DashboardSpec, type RowSpec } from './layout.ts';

/** Fleet-wide: the jobs of the selected namespaces, whatever their job names. */
const fleetSel = 'namespace=~"$namespace"';

/**
 * The fleet view. Its panels need a fleet-mode agent (flowpilot_fleet_jobs exists only there), so
 * test/fleet/fleet-dashboard.e2e.test.ts runs them against one, and the single-job dashboards e2e
 * leaves them out.
 */
export const fleetRow: RowSpec = {
  title: 'Fleet',
  panels: [
    {
      title: 'Fleet jobs by state', kind: 'timeseries', min: 0, width: 8,
      description: 'Opted-in jobs by where they stand: acting (decided on by their replica), acquiring (waiting for the job Lease), over-limit, policy-error, no-owner. Each replica counts the jobs the hash gives it.',
      queries: [{ expr: 'sum by (state) (flowpilot_fleet_jobs)', legend: '{{state}}' }],
    },
    {
      title: 'Rescales per hour by job', kind: 'timeseries', min: 0, width: 8,
      queries: [{ expr: `sum by (namespace, resource_name) (increase(flowpilot_scaling_decisions_total{action="rescale", ${fleetSel}}[1h]))`, legend: '{{namespace}}/{{resource_name}}' }],
    },
    {
      title: 'Blocked decisions per hour by guard', kind: 'timeseries', min: 0, width: 8,
      queries: [{ expr: `sum by (blocked_by) (increase(flowpilot_scaling_decisions_total{action="none", blocked_by!="", ${fleetSel}}[1h]))`, legend: '{{blocked_by}}' }],
    },
  ],
};

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
    fleetRow,
  ],
};
