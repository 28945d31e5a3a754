/**
 * The flink-deployment actuator: carries a rescale out through a FlinkDeployment or a
 * FlinkSessionJob the way the Flink Kubernetes Operator expects (flink-resource.ts has the
 * rules), then watches the operator do it (operator-watch.ts).
 * Journal: intent → patched → verified | timed-out | failed, or intent → rejected.
 * - intent: read the resource (and a session job's cluster), refuse when the operator's own
 *   autoscaler is on, plan the patch, record the baseline status and the expected path, send
 *   the merge patch carrying the resourceVersion read (409 → re-read → retry).
 * - patched: poll the resource's status (and the job over Flink REST when the agent reaches
 *   it) until the operator has reconciled our generation, reconciliation is DEPLOYED, the job
 *   is RUNNING and runs at the new parallelism. The result says whether it happened in place
 *   or as an upgrade, and how long the job was not RUNNING; an upgrade where in place was
 *   expected is flagged (`unexpectedUpgrade`) for the alert metric and a Warning Event.
 * A resource without any status has never been reconciled by an operator: there is nothing
 * to watch, and the result says so (realized: unobserved) instead of waiting.
 * Resuming re-reads and re-plans: a patch already applied plans to "no change".
 */
import { FlowpilotError } from '../../common/errors.ts';
import { kubeCall, isKubeCode, MERGE_PATCH, type KubeClients } from '../kube/client.ts';
import { describeError, errorData, need, type ActuatorContext, type FlinkResourceTarget } from './context.ts';
import { runsAt, type JobDetails as FlinkJobDetails } from '../flink/rest-types.ts';
import {
  OVERRIDES_KEY, flinkConf, planRescale, reactiveParallelism,
  type FlinkResourceObject, type RealizationPlan,
} from './flink-resource.ts';
import type { IntentHandle } from './journal/intent.ts';
import { judge, reconciledGeneration, restNotRunningMs, sampleOf, type StatusSample } from './operator-watch.ts';
import { parseVertexOverrides, type RescaleRequest } from './types.ts';

const GROUP = 'flink.apache.org';
const VERSION = 'v1beta1';

interface Ref { group: string; version: string; namespace: string; plural: string; name: string }

function refOf(kind: 'FlinkDeployment' | 'FlinkSessionJob', namespace: string, name: string): Ref {
  return { group: GROUP, version: VERSION, namespace, plural: kind === 'FlinkSessionJob' ? 'flinksessionjobs' : 'flinkdeployments', name };
}

async function readResource(kube: KubeClients, ref: Ref, what: string): Promise<FlinkResourceObject> {
  return await kubeCall(kube, `read ${what}`, () => kube.custom.getNamespacedCustomObject(ref)) as FlinkResourceObject;
}

/** The resource and, for a session job, its session cluster. */
async function readTarget(kube: KubeClients, target: FlinkResourceTarget, ns: string): Promise<{ res: FlinkResourceObject; cluster?: FlinkResourceObject }> {
  const kind = target.kind ?? 'FlinkDeployment';
  const res = await readResource(kube, refOf(kind, ns, target.name), `${kind} ${ns}/${target.name}`);
  res.kind ??= kind;
  if (kind !== 'FlinkSessionJob') return { res };
  const clusterName = res.spec?.deploymentName;
  if (!clusterName) throw new FlowpilotError('FP_ACTUATE_CONFIG', `FlinkSessionJob ${ns}/${target.name} has no spec.deploymentName`);
  return { res, cluster: await readResource(kube, refOf('FlinkDeployment', ns, clusterName), `FlinkDeployment ${ns}/${clusterName}`) };
}

/** The plan for a request against the objects read; exported for `flowpilot scale set --dry-run`. */
export function planFor(res: FlinkResourceObject, req: Pick<RescaleRequest, 'target' | 'taskManagers'>, cluster?: FlinkResourceObject): RealizationPlan {
  return planRescale(res, { target: req.target, ...(req.taskManagers !== undefined ? { taskManagers: req.taskManagers } : {}) }, cluster);
}

/** When the job last entered RUNNING, on the JobManager's clock (Flink's job-details timestamps), if the agent reaches Flink. */
async function runningSince(ctx: ActuatorContext, jobId: string): Promise<number | undefined> {
  if (!ctx.flink) return undefined;
  try {
    return (await ctx.flink.job(jobId))?.timestamps?.RUNNING;
  } catch {
    return undefined;
  }
}

/** Whether a lastReconciledSpec (the operator's JSON) already holds the change the plan makes. */
function holdsChange(plan: RealizationPlan, last: unknown): boolean {
  const spec = ((last as { spec?: unknown })?.spec ?? last) as FlinkResourceObject['spec'];
  if (plan.mode === 'standalone') return spec?.taskManager?.replicas === plan.replicas;
  const got = parseVertexOverrides(flinkConf({ spec: spec ?? {} })[OVERRIDES_KEY]);
  return Object.entries(plan.overrides ?? {}).every(([v, p]) => got[v] === p);
}

/** Whether the job runs at what the plan asked for (REST). */
function jobMatches(plan: RealizationPlan, job: FlinkJobDetails, target: Record<string, number>): boolean {
  if (plan.mode === 'native') return runsAt(job, target);
  if (job.state !== 'RUNNING') return false;
  return job.vertices.every((v) => v.parallelism === reactiveParallelism(plan.replicas ?? 1, plan.slotsPerTaskManager ?? 1, v.maxParallelism));
}

export async function runFlinkResourceRescale(ctx: ActuatorContext, h0: IntentHandle): Promise<IntentHandle> {
  const kube = need(ctx.kube, 'a Kubernetes connection');
  const target = need(ctx.flinkDeployment?.(h0.record.jobKey), `the FlinkDeployment or FlinkSessionJob of job ${h0.record.jobKey}`);
  const ns = target.namespace ?? kube.namespace;
  const kind = target.kind ?? 'FlinkDeployment';
  const what = `${kind} ${ns}/${target.name}`;
  const req = h0.record.request;
  let h = h0;
  if (h.record.step === 'intent') {
    let conflicts = 0;
    let plan: RealizationPlan;
    let baseline: StatusSample;
    let generation: number | undefined;
    let baselineRunningAt: number | undefined;
    for (;;) {
      try {
        const { res, cluster } = await readTarget(kube, target, ns);
        plan = planFor(res, req, cluster);
        baseline = sampleOf(ctx.clock(), res.status, res.metadata?.generation);
        generation = res.metadata?.generation;
        baselineRunningAt = await runningSince(ctx, res.status?.jobStatus?.jobId ?? req.jobId);
        if (plan.patch) {
          const out = await kubeCall(kube, `patch ${what}`, () => kube.custom.patchNamespacedCustomObject({ ...refOf(kind, ns, target.name), body: plan.patch, fieldManager: 'flowpilot' }, MERGE_PATCH)) as FlinkResourceObject;
          generation = out.metadata?.generation ?? generation;
        }
        break;
      } catch (err) {
        if (isKubeCode(err, 'FP_KUBE_CONFLICT') && ++conflicts < ctx.timing.conflictRetries) {
          ctx.log.info({ what, conflicts }, 'the resource changed under us; re-reading');
          continue;
        }
        return ctx.journal.finish(h, 'rejected', 'rejected', `did not rescale through ${what}: ${describeError(err)}`, errorData(err));
      }
    }
    if (plan.expected === 'upgrade') {
      ctx.log.warn({ what, blockers: plan.blockers }, 'the operator will carry this rescale out as an UPGRADE (the job restarts), not in place');
    }
    h = await ctx.journal.advance(h, 'patched', {
      kind, deploymentMode: plan.mode, expected: plan.expected, blockers: plan.blockers, changes: plan.changes, conflicts,
      baseline, ...(generation !== undefined ? { generation } : {}), ...(baselineRunningAt !== undefined ? { baselineRunningAt } : {}),
      ...(plan.replicas !== undefined ? { replicas: plan.replicas, slotsPerTaskManager: plan.slotsPerTaskManager } : {}),
      ...(plan.overrides ? { overrides: plan.overrides } : {}),
    }, plan.patch ? `patched ${plan.changes.join(', ')}` : 'the resource already held this state; nothing patched');
  }
  if (h.record.step === 'patched') return verify(ctx, h, kube, target, ns, what);
  return h;
}

async function verify(ctx: ActuatorContext, h: IntentHandle, kube: KubeClients, target: FlinkResourceTarget, ns: string, what: string): Promise<IntentHandle> {
  const d = h.record.data;
  const req = h.record.request;
  const expected = (d.expected as 'in-place' | 'upgrade' | undefined) ?? 'in-place';
  const baseline = (d.baseline as StatusSample | undefined) ?? { at: ctx.clock() };
  const gen = typeof d.generation === 'number' ? d.generation : undefined;
  const { res, cluster } = await readTarget(kube, target, ns);
  const plan = planFor(res, req, cluster);
  if (plan.patch !== null) {
    return ctx.journal.finish(h, 'failed', 'failed', `${what} no longer holds what we wrote (${plan.changes.join(', ')} differ): another writer changed it`);
  }
  if (!res.status?.reconciliationStatus && !baseline.reconciliationState) {
    const realization = { expected, realized: 'unobserved', notRunningMs: 0 };
    return ctx.journal.finish(h, 'verified', 'succeeded',
      `${what} patched (${(d.changes as string[] | undefined)?.join(', ') || 'no change needed'}); it has no status, so no operator has reconciled it yet and the outcome is not observed`,
      { realization });
  }
  const samples: StatusSample[] = [];
  const deadline = ctx.clock() + ctx.timing.verifyTimeoutMs;
  let last: FlinkResourceObject = res;
  let lastJob: FlinkJobDetails | null | undefined;
  for (;;) {
    const jobId = last.status?.jobStatus?.jobId ?? req.jobId;
    let job: FlinkJobDetails | null | undefined;
    if (ctx.flink) {
      try {
        job = await ctx.flink.job(jobId);
      } catch (err) {
        ctx.log.debug({ err, what }, 'job not readable over REST while verifying');
      }
    }
    lastJob = job;
    samples.push(sampleOf(ctx.clock(), last.status, last.metadata?.generation, job === undefined ? undefined : (job?.state ?? null)));
    const st = last.status;
    const done = reconciledGeneration(st, gen, (spec) => holdsChange(plan, spec))
      && st?.reconciliationStatus?.state === 'DEPLOYED' && st.jobStatus?.state === 'RUNNING'
      && (job === undefined || (job !== null && jobMatches(plan, job, req.target)));
    if (done) break;
    if (ctx.clock() >= deadline) {
      const v = judge(baseline, samples);
      return ctx.journal.finish(h, 'timed-out', 'timed-out',
        `${what}: the operator did not finish within ${ctx.timing.verifyTimeoutMs} ms (seen: ${v.transitions.join(' → ')}${job ? `; job ${job.state}, ${job.vertices.map((x) => `${x.id.slice(0, 8)}=${x.parallelism}`).join(' ')}` : ''})`,
        { realization: { expected, realized: v.realized, notRunningMs: v.notRunningMs, evidence: v.evidence, transitions: v.transitions } });
    }
    await ctx.sleep(ctx.timing.pollIntervalMs, ctx.signal);
    last = (await readTarget(kube, target, ns)).res;
  }
  const v = judge(baseline, samples);
  // Flink's own state timestamps are exact for the same job; the samples bound the rest.
  const fromRest = restNotRunningMs(typeof d.baselineRunningAt === 'number' ? d.baselineRunningAt : undefined, lastJob?.timestamps);
  const notRunningMs = Math.max(v.notRunningMs, fromRest ?? 0);
  const unexpectedUpgrade = expected === 'in-place' && v.realized === 'upgrade';
  const realization = { expected, realized: v.realized, notRunningMs, evidence: v.evidence, transitions: v.transitions, ...(unexpectedUpgrade ? { unexpectedUpgrade } : {}) };
  const how = v.realized === 'in-place' ? 'in place' : `as an UPGRADE (${v.evidence.join('; ')})`;
  const msg = `${what}: the operator rescaled the job ${how}; not RUNNING for ${notRunningMs} ms${unexpectedUpgrade ? '. UNEXPECTED: the patch was planned for the in-place path' : ''}`;
  return ctx.journal.finish(h, 'verified', 'succeeded', msg, { realization });
}
