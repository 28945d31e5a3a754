/**
 * Rescale through a savepoint: stop-with-savepoint (drain=false), resubmit the job's jar with
 * the new parallelism (and per-vertex overrides) from that savepoint, and check that the new
 * job runs at the target and restored from it. If the new job does not come up, roll back:
 * cancel it and resubmit the old parallelism from the same savepoint, or, when the new job got
 * past that savepoint (completed checkpoints), from where it got to (rollback-source.ts), so its
 * committed output is not written twice. A savepoint that fails
 * leaves the job running and untouched. Journal steps:
 *   intent → savepoint-triggered(triggerId) → stopped(location) → submitted(newJobId)
 *     → verified | rolling-back → rollback-submitted(jobId) → rolled-back | failed
 * Each step can be re-entered after a crash. The trigger id is journaled before the stop
 * call and sent as Flink's idempotency key; before any submit the agent looks for a live job
 * with the same name and adopts it instead, so a crash between submit and journal write
 * never yields two copies of the job.
 */
import { randomBytes } from 'node:crypto';
import { need, pollUntil, type ActuatorContext } from './context.ts';
import { describeError, errorData } from './context.ts';
import type { FlinkRestClient } from '../flink/rest-client.ts';
import { runsAt, TERMINAL_JOB_STATES } from '../flink/rest-types.ts';
import type { IntentHandle } from './journal/intent.ts';
import { formatVertexOverrides, maxParallelism, type JobSubmission } from './types.ts';
import { rollbackSource } from './rollback-source.ts';

/** Compares savepoint paths across spellings: file:/x, file:///x and /x are the same place. */
export function samePath(a: string, b: string): boolean {
  const norm = (p: string): string => p.replace(/^file:(\/\/)?/, '').replace(/^\/+/, '/').replace(/\/+$/, '');
  return norm(a) === norm(b);
}

/** What a submission at `parallelism` will run at, given whether per-vertex overrides are sent. */
export function expectedParallelism(sub: JobSubmission, parallelism: Record<string, number>): Record<string, number> {
  if (sub.perVertexOverrides !== false) return parallelism;
  const p = maxParallelism(parallelism);
  return Object.fromEntries(Object.keys(parallelism).map((v) => [v, p]));
}

export async function submitFromSavepoint(flink: FlinkRestClient, sub: JobSubmission, savepointPath: string, parallelism: Record<string, number>): Promise<string> {
  const flinkConfiguration: Record<string, string> = { ...sub.flinkConfiguration };
  if (sub.perVertexOverrides !== false) flinkConfiguration['pipeline.jobvertex-parallelism-overrides'] = formatVertexOverrides(parallelism);
  return flink.runJar(sub.jarId, {
    ...(sub.entryClass ? { entryClass: sub.entryClass } : {}),
    ...(sub.programArgsList ? { programArgsList: sub.programArgsList } : {}),
    parallelism: maxParallelism(parallelism),
    savepointPath,
    allowNonRestoredState: sub.allowNonRestoredState ?? false,
    ...(Object.keys(flinkConfiguration).length > 0 ? { flinkConfiguration } : {}),
  });
}

/** Waits until `jobId` runs at `parallelism` and, when the job reports it, restored from `savepoint`. */
async function verifyRestored(ctx: ActuatorContext, flink: FlinkRestClient, jobId: string, parallelism: Record<string, number>, savepoint: string): Promise<string | null> {
  let last = 'no answer';
  const ok = await pollUntil(ctx, ctx.timing.verifyTimeoutMs, async () => {
    const job = await flink.job(jobId);
    if (!job) return ((last = 'job not found'), null);
    if (TERMINAL_JOB_STATES.has(job.state)) return ((last = `job ${job.state}`), false);
    if (!runsAt(job, parallelism)) return ((last = `${job.state}, not yet at target`), null);
    const paths = await flink.checkpointPaths(jobId);
    // A restore from one of the new job's own checkpoints (a failover after it restored) is fine too.
    if (paths.restored !== null && !samePath(paths.restored, savepoint) && !/\/chk-\d+\/?$/.test(paths.restored)) {
      return ((last = `restored from ${paths.restored}, not ${savepoint}`), false);
    }
    return true;
  });
  return ok === true ? null : last;
}

async function liveCopy(flink: FlinkRestClient, name: string | undefined, exclude: string[]): Promise<string | null> {
  if (!name) return null;
  const live = (await flink.liveJobsNamed(name)).filter((j) => !exclude.includes(j.jid));
  return live[0]?.jid ?? null;
}

export async function runSavepoint(ctx: ActuatorContext, h0: IntentHandle): Promise<IntentHandle> {
  const flink = need(ctx.flink, 'a Flink REST URL');
  const req = h0.record.request;
  // Every vertex gets an explicit parallelism on resubmit, so none falls back to the job default.
  const newParallelism = { ...req.current, ...req.target };
  const oldParallelism = { ...req.target, ...req.current };
  const sub = need(ctx.submission?.(h0.record.jobKey), `a job submission (jarId, savepointDirectory) for job ${h0.record.jobKey}`);
  let h = h0;

  if (h.record.step === 'intent') {
    if (!h.record.data.triggerId) {
      const job = await flink.job(req.jobId);
      if (!job || job.state !== 'RUNNING') {
        return ctx.journal.finish(h, 'failed', 'rejected', `job ${req.jobId} is ${job?.state ?? 'not found'}, not RUNNING; nothing done`);
      }
      h = await ctx.journal.annotate(h, { triggerId: randomBytes(16).toString('hex'), jobName: job.name });
    }
    const triggerId = h.record.data.triggerId!;
    const known = await flink.savepointStatus(req.jobId, triggerId);
    if (known === null) {
      try {
        await flink.stopWithSavepoint(req.jobId, sub.savepointDirectory, triggerId);
      } catch (err) {
        const job = await flink.job(req.jobId).catch(() => null);
        const running = job?.state === 'RUNNING';
        return ctx.journal.finish(h, 'failed', running ? 'rejected' : 'failed',
          `stop-with-savepoint refused (${describeError(err)}); the job is ${running ? 'still running, untouched' : job?.state ?? 'gone'}`, errorData(err));
      }
    }
    h = await ctx.journal.advance(h, 'savepoint-triggered', { triggerId });
  }

  if (h.record.step === 'savepoint-triggered') {
    const triggerId = h.record.data.triggerId!;
    const op = await pollUntil(ctx, ctx.timing.savepointTimeoutMs, async () => {
      const s = await flink.savepointStatus(req.jobId, triggerId);
      return s === null || s.status !== 'IN_PROGRESS' ? { s } : null;
    });
    if (op === null) return h; // still in progress: stays in flight, resumed later
    let location: string | null = null;
    if (op.s === null) {
      // The JobManager forgot the trigger (restarted). Look at the job itself.
      const job = await flink.job(req.jobId);
      if (job && !TERMINAL_JOB_STATES.has(job.state)) {
        return ctx.journal.finish(h, 'savepoint-failed', 'rejected', 'the stop operation was lost by the JobManager; the job is still running, untouched');
      }
      location = (await flink.checkpointPaths(req.jobId)).latestSavepoint;
      if (location === null) {
        return ctx.journal.finish(h, 'failed', 'failed', `job ${req.jobId} is ${job?.state ?? 'gone'} and no savepoint location is known; recover it from its latest checkpoint`);
      }
    } else if (op.s.status === 'FAILED') {
      const job = await flink.job(req.jobId);
      const running = job?.state === 'RUNNING';
      return ctx.journal.finish(h, 'savepoint-failed', running ? 'rejected' : 'failed',
        `savepoint failed (${op.s.cause}); ${running ? 'the job keeps running, untouched' : `the job is ${job?.state ?? 'gone'}`}`);
    } else if (op.s.status === 'COMPLETED') {
      location = op.s.location;
    }
    const ended = await pollUntil(ctx, ctx.timing.verifyTimeoutMs, async () => {
      const job = await flink.job(req.jobId);
      return !job || TERMINAL_JOB_STATES.has(job.state) ? true : null;
    });
    // Never start the new job while the old one still runs: stay in flight and look again on resume.
    if (ended === null) return h;
    h = await ctx.journal.advance(h, 'stopped', { savepointLocation: location! });
  }

  if (h.record.step === 'stopped') {
    const location = h.record.data.savepointLocation!;
    const adopted = await liveCopy(flink, h.record.data.jobName, [req.jobId]);
    if (adopted) {
      h = await ctx.journal.advance(h, 'submitted', { newJobId: adopted }, 'adopted a job submitted before a restart');
    } else {
      try {
        const newJobId = await submitFromSavepoint(flink, sub, location, newParallelism);
        h = await ctx.journal.advance(h, 'submitted', { newJobId });
      } catch (err) {
        h = await ctx.journal.advance(h, 'rolling-back', {}, `submit at the new parallelism failed: ${describeError(err)}`);
      }
    }
  }

  if (h.record.step === 'submitted') {
    const problem = await verifyRestored(ctx, flink, h.record.data.newJobId!, expectedParallelism(sub, newParallelism), h.record.data.savepointLocation!);
    if (problem === null) {
      return ctx.journal.finish(h, 'verified', 'succeeded', `job ${h.record.data.newJobId} runs at ${JSON.stringify(req.target)} from ${h.record.data.savepointLocation}`);
    }
    h = await ctx.journal.advance(h, 'rolling-back', {}, `new job did not come up: ${problem}`);
  }

  if (h.record.step === 'rolling-back') {
    const source = await rollbackSource(ctx, flink, sub, h);
    h = source.h;
    if (source.kind === 'keep-new-job') return ctx.journal.finish(h, 'failed', 'failed', source.why);
    const location = source.location;
    const failed = h.record.data.newJobId;
    if (failed) {
      await flink.cancel(failed);
      await pollUntil(ctx, ctx.timing.verifyTimeoutMs, async () => {
        const j = await flink.job(failed);
        return !j || TERMINAL_JOB_STATES.has(j.state) ? true : null;
      });
    }
    const adopted = await liveCopy(flink, h.record.data.jobName, [req.jobId, ...(failed ? [failed] : [])]);
    const rollbackJobId = adopted ?? await submitFromSavepoint(flink, sub, location, oldParallelism);
    h = await ctx.journal.advance(h, 'rollback-submitted', { rollbackJobId, rollbackLocation: location }, source.why);
  }

  if (h.record.step === 'rollback-submitted') {
    const jobId = h.record.data.rollbackJobId!;
    const from = typeof h.record.data.rollbackLocation === 'string' ? h.record.data.rollbackLocation : h.record.data.savepointLocation!;
    const problem = await verifyRestored(ctx, flink, jobId, expectedParallelism(sub, oldParallelism), from);
    if (problem === null) {
      return ctx.journal.finish(h, 'rolled-back', 'rolled-back', `rescale failed; job ${jobId} runs again at the old parallelism from ${from}`);
    }
    return ctx.journal.finish(h, 'failed', 'failed', `rollback job ${jobId} did not come up (${problem}); the job needs recovery from ${from}`);
  }
  return h;
}
