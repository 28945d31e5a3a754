/**
 * The observation stream of the state-persistence tests: a job whose map vertex is at 80 %,
 * then a step (×3) that makes the autoscaler scale it up, then the job restarted at the new
 * parallelism after 30 s of downtime and running inside the band, so the restart cost is
 * learned. `phaseOne` drives it through any decide function; a rescale restarts the job. The
 * crashing child and the test replay the same stream, so the restarted pipeline sees the next
 * observations of the same job.
 */
import { ObservationBuilder, type IntervalRates } from '../../../agent/scaling/observation-builder.ts';
import type { JobObservation } from '../../../agent/scaling/observation.ts';
import type { ScaleDecision } from '../../../agent/scaling/decision.ts';

export const PER_SUBTASK = 2500;
export const POLICY = { cooldown: '10m', scaleDown: { delay: 0, minGain: 0 }, limits: { slotSharing: true } };

export function rates(arrival: number, p: number): Record<string, IntervalRates> {
  const processed = Math.min(arrival, PER_SUBTASK * p);
  const busy = processed / (PER_SUBTASK * p);
  return { src: { inRate: processed, busy: 0.1, backPressured: busy >= 1 ? 0.8 : 0, pending: 0 }, map: { inRate: processed, busy } };
}

export function newJob(): ObservationBuilder {
  return new ObservationBuilder('job-1', [
    { id: 'src', parallelism: 2, partitions: 24 },
    { id: 'map', parallelism: 2, inputs: [{ id: 'src', shipStrategy: 'REBALANCE' }] },
  ]);
}

export const mapP = (b: ObservationBuilder): number => b.vertices.find((v) => v.id === 'map')!.parallelism;

/** Phase one; `decide` returns the decision for each observation (null: none, as a follower). */
export async function phaseOne(b: ObservationBuilder, decide: (obs: JobObservation) => Promise<ScaleDecision | null>): Promise<ScaleDecision[]> {
  const out: ScaleDecision[] = [];
  const step = async (arrival: number): Promise<void> => {
    const d = await decide(b.next(15, rates(arrival, mapP(b))));
    if (d) out.push(d);
    if (d?.action === 'rescale') b.restart(d.parallelism, 30);
  };
  for (let i = 0; i < 6; i++) await step(4000);
  for (let i = 0; i < 12 && !out.some((d) => d.action === 'rescale'); i++) await step(12000);
  for (let i = 0; i < 3; i++) await step(2000 * mapP(b));
  return out;
}

/** The builder as it is after phase one, given the decisions taken in it. */
export async function replayPhaseOne(decisions: readonly ScaleDecision[]): Promise<ObservationBuilder> {
  const b = newJob();
  let i = 0;
  await phaseOne(b, async () => decisions[i++] ?? null);
  return b;
}
