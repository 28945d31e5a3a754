/**
 * Job-level limits on a proposed parallelism: per-vertex bounds, the cap on total
 * parallelism, TaskManager count (slots / slots per TaskManager), and CPU and memory quotas.
 * When a cap binds, increases are taken back one subtask at a time from the vertex with the
 * most headroom left (lowest utilization at its proposed parallelism), so the bottleneck keeps
 * what it needs most.
 */
import type { Guard } from './decision.ts';
import { slotsFor } from './decision.ts';
import type { ScalingPolicy } from './policy-schema.ts';
import type { VertexPlan } from './vertex-plan.ts';

export interface LimitResult {
  parallelism: Record<string, number>;
  taskManagers: number;
  reasons: string[];
  guard?: Guard;
}

function maxSlots(policy: ScalingPolicy, slotsPerTaskManager: number): { slots: number; why: string; guard: Guard } | undefined {
  const l = policy.limits;
  const caps: { tms: number; why: string; guard: Guard }[] = [];
  if (l.maxTaskManagers !== null) caps.push({ tms: l.maxTaskManagers, why: `max ${l.maxTaskManagers} TaskManagers`, guard: 'limits' });
  if (l.quotaCpu !== null && l.taskManagerCpu > 0) caps.push({ tms: Math.floor(l.quotaCpu / l.taskManagerCpu), why: `CPU quota ${l.quotaCpu}`, guard: 'quota' });
  if (l.quotaMemoryMb !== null && l.taskManagerMemoryMb > 0) caps.push({ tms: Math.floor(l.quotaMemoryMb / l.taskManagerMemoryMb), why: `memory quota ${l.quotaMemoryMb} MiB`, guard: 'quota' });
  if (caps.length === 0) return undefined;
  const c = caps.reduce((a, b) => (b.tms < a.tms ? b : a));
  return { slots: c.tms * slotsPerTaskManager, why: c.why, guard: c.guard };
}

export function applyCapacityLimits(
  target: Record<string, number>,
  current: Record<string, number>,
  plans: Map<string, VertexPlan>,
  policy: ScalingPolicy,
  /** slots per TaskManager as observed; the policy's value when unknown */
  observedSlotsPerTaskManager?: number,
  /** slot-sharing group per vertex (undefined: the default group) */
  groups?: Readonly<Record<string, string | undefined>>,
): LimitResult {
  const slotsPerTm = observedSlotsPerTaskManager ?? policy.limits.slotsPerTaskManager;
  const out = { ...target };
  const reasons: string[] = [];
  let guard: Guard | undefined;
  for (const [id, plan] of plans) {
    const clamped = Math.max(plan.lo, Math.min(plan.hi, out[id]!));
    if (clamped !== out[id]) {
      reasons.push(`vertex ${id}: ${out[id]} limited to ${clamped} (bounds ${plan.lo}..${plan.hi})`);
      out[id] = clamped;
      guard = 'limits';
    }
  }
  const l = policy.limits;
  const slotCap = maxSlots(policy, slotsPerTm);
  const total = (): number => Object.values(out).reduce((a, b) => a + b, 0);
  const over = (): string | undefined => {
    if (l.maxTotalParallelism !== null && total() > l.maxTotalParallelism) return `max total parallelism ${l.maxTotalParallelism}`;
    if (slotCap && slotsFor(out, l.slotSharing, groups) > slotCap.slots) return slotCap.why;
    return undefined;
  };
  let why = over();
  if (why) {
    reasons.push(`capped by ${why}`);
    guard = slotCap && why === slotCap.why ? slotCap.guard : 'limits';
  }
  while (why) {
    // Take back one subtask from the increased vertex with the most spare capacity.
    let pick: string | undefined;
    let best = Number.POSITIVE_INFINITY;
    for (const id of Object.keys(out)) {
      if (out[id]! <= current[id]!) continue;
      const m = plans.get(id)?.model;
      const util = m && m.trueRate > 0 ? (m.targetRate + m.catchUpRate) / ((m.trueRate * out[id]!) / m.parallelism) : 0;
      if (util < best) {
        best = util;
        pick = id;
      }
    }
    if (!pick) break;
    out[pick]! -= 1;
    why = over();
  }
  const slots = slotsFor(out, l.slotSharing, groups);
  return { parallelism: out, taskManagers: Math.ceil(slots / slotsPerTm), reasons, ...(guard ? { guard } : {}) };
}
