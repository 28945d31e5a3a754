/**
 * In-place rescale through the adaptive scheduler (Flink ≥ 1.18, `jobmanager.scheduler:
 * adaptive`, and the engine): GET /jobs/:id/resource-requirements, set each target vertex's
 * upperBound to its target and lowerBound to min(target, current lower) — the operator's
 * rule, so a later scale-down is never blocked by a raised floor — and PUT the complete map
 * back (Flink rejects a map missing any vertex). Then poll /jobs/:id until every vertex runs
 * at its target. Journal: intent → requirements-set → verified | timed-out | failed.
 * Re-running either step is harmless, which is what makes resume trivial.
 */
import { FlowpilotError } from '../../common/errors.ts';
import { need, pollUntil, type ActuatorContext } from './context.ts';
import { describeError, errorData } from './context.ts';
import { runsAt, type ResourceRequirements } from '../flink/rest-types.ts';
import type { IntentHandle } from './journal/intent.ts';

export function newRequirements(cur: ResourceRequirements, target: Record<string, number>): ResourceRequirements {
  const out: ResourceRequirements = {};
  for (const [vid, req] of Object.entries(cur)) {
    const t = target[vid];
    if (t === undefined) {
      out[vid] = { parallelism: { ...req.parallelism } };
      continue;
    }
    const lower = req.parallelism.lowerBound < 1 ? 1 : req.parallelism.lowerBound;
    out[vid] = { parallelism: { lowerBound: Math.min(t, lower), upperBound: t } };
  }
  const unknown = Object.keys(target).filter((v) => !(v in cur));
  if (unknown.length > 0) {
    throw new FlowpilotError('FP_ACTUATE_UNKNOWN_VERTEX', `the job has no vertex ${unknown.join(', ')} (its resource requirements list ${Object.keys(cur).join(', ')})`);
  }
  return out;
}

export async function runInPlace(ctx: ActuatorContext, h0: IntentHandle): Promise<IntentHandle> {
  const flink = need(ctx.flink, 'a Flink REST URL');
  const req = h0.record.request;
  let h = h0;
  if (h.record.step === 'intent') {
    try {
      const cur = await flink.resourceRequirements(req.jobId);
      await flink.setResourceRequirements(req.jobId, newRequirements(cur, req.target));
    } catch (err) {
      return ctx.journal.finish(h, 'failed', 'rejected', `in-place rescale refused, job unchanged: ${describeError(err)}`, errorData(err));
    }
    h = await ctx.journal.advance(h, 'requirements-set');
  }
  if (h.record.step === 'requirements-set') {
    const ok = await pollUntil(ctx, ctx.timing.verifyTimeoutMs, async () => {
      const job = await flink.job(req.jobId);
      return job && runsAt(job, req.target) ? true : null;
    });
    if (ok) return ctx.journal.finish(h, 'verified', 'succeeded', `running at ${JSON.stringify(req.target)}`);
    const job = await flink.job(req.jobId);
    const seen = job ? `${job.state}, ${job.vertices.map((v) => `${v.id.slice(0, 8)}=${v.parallelism}`).join(' ')}` : 'job gone';
    return ctx.journal.finish(h, 'timed-out', 'timed-out',
      `new parallelism not RUNNING within ${ctx.timing.verifyTimeoutMs} ms (now: ${seen}); the scheduler may lack slots`);
  }
  return h;
}
