/**
 * The fleet's own series: `flowpilot_fleet_jobs{state}`, the opted-in jobs this replica holds by
 * hash (acting, acquiring, over-limit, policy-error; no-owner while it sees no member), read from
 * the manager's status when /metrics is scraped. Jobs another replica holds ("remote") are left
 * to that replica, so a sum over the replicas counts every job once (twice at most for the
 * moment of a handover). The Autoscaler dashboard's fleet row shows it by state.
 */
import { Gauge, type Registry } from 'prom-client';

export const COUNTED_STATES = ['acting', 'acquiring', 'over-limit', 'policy-error', 'no-owner'] as const;

export function registerFleetMetrics(registry: Registry, status: () => { jobs: ReadonlyArray<{ state: string }> }): Gauge<'state'> {
  return new Gauge({
    name: 'flowpilot_fleet_jobs',
    help: 'Opted-in jobs this replica holds by hash, by state (acting, acquiring, over-limit, policy-error, no-owner).',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const counts = new Map<string, number>(COUNTED_STATES.map((s) => [s, 0]));
      for (const j of status().jobs) if (counts.has(j.state)) counts.set(j.state, counts.get(j.state)! + 1);
      for (const [state, n] of counts) this.set({ state }, n);
    },
  });
}
