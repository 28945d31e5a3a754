/**
 * The fleet's own series: `flowpilot_fleet_jobs{state}`, the opted-in jobs this replica holds by
 * hash (acting, acquiring, over-limit, policy-error; no-owner while it sees no member), read from
 * the manager's status when /metrics is scraped. Jobs another replica holds ("remote") are left
 * to that replica, so a sum over the replicas counts every job once (twice at most for the
 * moment of a handover). The Autoscaler dashboard's fleet row shows it by state.
 */
import { Gauge, Histogram, type Registry } from 'prom-client';

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

/**
 * The shard's timings: `flowpilot_fleet_round_seconds` (one Lease round: list, member renew,
 * guard writes) and `flowpilot_fleet_lease_request_seconds{op}` (each Lease list or write).
 * A round longer than the renew deadline's slack is what drops jobs from `acting`.
 */
export function registerShardMetrics(registry: Registry): (what: 'round' | 'list' | 'write', ms: number) => void {
  const buckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32];
  const round = new Histogram({ name: 'flowpilot_fleet_round_seconds', help: 'Duration of one fleet Lease round (list, member renew, guard writes).', buckets, registers: [registry] });
  const req = new Histogram({ name: 'flowpilot_fleet_lease_request_seconds', help: 'Duration of one Lease request of the fleet shard, by op (list, write).', labelNames: ['op'] as const, buckets, registers: [registry] });
  return (what, ms) => (what === 'round' ? round.observe(ms / 1000) : req.observe({ op: what }, ms / 1000));
}
