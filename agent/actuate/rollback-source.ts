/**
 * Where a savepoint rescale's rollback restores from. The rescale's own savepoint is right only
 * while the new job has not moved past it: once the new job completed a checkpoint, an
 * exactly-once sink may have committed output beyond the savepoint, and a restore from the
 * savepoint would write that output again. So, before the new job is given up:
 *   - it still runs: stop it with a savepoint (trigger id journaled, so a crash resumes the same
 *     stop) and roll back from that one;
 *   - it ended (FAILED keeps its checkpoints) after completing a checkpoint: roll back from its
 *     latest completed checkpoint;
 *   - it never completed a checkpoint: nothing was committed, the rescale's savepoint is right.
 * A new job that completed checkpoints, still lives, and cannot be stopped with a savepoint is
 * left running: any restore would replay committed output. (A checkpoint that completes between
 * the check and the cancel of a job that had none is not seen: a window of one checkpoint.)
 */
import { randomBytes } from 'node:crypto';
import { pollUntil, type ActuatorContext } from './context.ts';
import type { FlinkRestClient } from '../flink/rest-client.ts';
import { TERMINAL_JOB_STATES } from '../flink/rest-types.ts';
import type { IntentHandle } from './journal/intent.ts';
import type { JobSubmission } from './types.ts';

export type RollbackSource =
  | { kind: 'restore'; location: string; why: string; h: IntentHandle }
  | { kind: 'keep-new-job'; why: string; h: IntentHandle };

export async function rollbackSource(ctx: ActuatorContext, flink: FlinkRestClient, sub: JobSubmission, h0: IntentHandle): Promise<RollbackSource> {
  let h = h0;
  const savepoint = h.record.data.savepointLocation!;
  const known = h.record.data.rollbackLocation;
  if (typeof known === 'string') return { kind: 'restore', location: known, why: 'journaled', h };
  const newJobId = h.record.data.newJobId;
  if (!newJobId) return { kind: 'restore', location: savepoint, why: 'no new job was submitted', h };

  // Nothing committed beyond the savepoint while the new job never completed a checkpoint
  // (checked before anything is stopped: a job that cannot checkpoint cannot stop with a savepoint).
  const paths = await flink.checkpointPaths(newJobId);
  if (paths.latestCompleted === null) {
    return { kind: 'restore', location: savepoint, why: `the new job ${newJobId} completed no checkpoint, so it committed nothing beyond the savepoint`, h };
  }
  const job = await flink.job(newJobId);
  if (job && job.state === 'RUNNING') {
    const journaled = h.record.data.rollbackTriggerId;
    const triggerId = typeof journaled === 'string' ? journaled : randomBytes(16).toString('hex');
    if (typeof journaled !== 'string') h = await ctx.journal.annotate(h, { rollbackTriggerId: triggerId });
    const location = await stopWithSavepoint(ctx, flink, newJobId, sub.savepointDirectory, triggerId);
    if (location !== null) {
      h = await ctx.journal.annotate(h, { rollbackLocation: location });
      return { kind: 'restore', location, why: `stopped the new job ${newJobId} with a savepoint, so nothing it committed is written again`, h };
    }
  }
  const now = await flink.job(newJobId);
  const latest = (await flink.checkpointPaths(newJobId)).latestCompleted ?? paths.latestCompleted;
  if (now && TERMINAL_JOB_STATES.has(now.state)) {
    h = await ctx.journal.annotate(h, { rollbackLocation: latest });
    return { kind: 'restore', location: latest, why: `the new job ${newJobId} ended after checkpoint ${latest}; rolling back from it`, h };
  }
  return {
    kind: 'keep-new-job',
    why: `the new job ${newJobId} completed checkpoints (latest ${latest}) and could not be stopped with a savepoint; a restore would replay its committed output, so it keeps running`,
    h,
  };
}

/** Stop-with-savepoint of `jobId` with a journaled trigger id; the savepoint's location once the job ended, else null. */
async function stopWithSavepoint(ctx: ActuatorContext, flink: FlinkRestClient, jobId: string, dir: string, triggerId: string): Promise<string | null> {
  try {
    if ((await flink.savepointStatus(jobId, triggerId)) === null) await flink.stopWithSavepoint(jobId, dir, triggerId);
  } catch (err) {
    ctx.log.warn({ jobId, err: (err as Error).message }, 'rollback: stop-with-savepoint of the new job refused');
    return null;
  }
  const op = await pollUntil(ctx, ctx.timing.savepointTimeoutMs, async () => {
    const s = await flink.savepointStatus(jobId, triggerId);
    return s === null || s.status !== 'IN_PROGRESS' ? { s } : null;
  });
  if (op === null || op.s === null || op.s.status !== 'COMPLETED') return null;
  const ended = await pollUntil(ctx, ctx.timing.verifyTimeoutMs, async () => {
    const j = await flink.job(jobId);
    return !j || TERMINAL_JOB_STATES.has(j.state) ? true : null;
  });
  return ended === null ? null : op.s.location;
}
