/**
 * The two Kubernetes actuators.
 * - kubernetes-deployment (Flink reactive mode / the engine's TaskManager Deployment): set the
 *   TaskManager Deployment's or StatefulSet's replicas through its `scale` subresource with a
 *   merge patch; the job rescales itself as TaskManagers come and go.
 *   Journal: intent → scaled → verified.
 * - flink-deployment (Flink Kubernetes Operator): merge-patch the FlinkDeployment with
 *   spec.job.parallelism, `pipeline.jobvertex-parallelism-overrides` in spec.flinkConfiguration
 *   and spec.taskManager.replicas; the operator carries it out. The patch carries the
 *   resourceVersion read just before, so a concurrent edit gives 409 and we retry on a fresh
 *   read. Journal: intent → patched → verified.
 * Both are idempotent: resuming re-applies the same desired state.
 */
import { kubeCall, isKubeCode, MERGE_PATCH } from '../kube/client.ts';
import { need, type ActuatorContext } from './context.ts';
import { describeError, errorData } from './context.ts';
import type { IntentHandle } from './journal/intent.ts';
import { formatVertexOverrides, maxParallelism, parseVertexOverrides, type RescaleRequest } from './types.ts';

export const OVERRIDES_KEY = 'pipeline.jobvertex-parallelism-overrides';

export function replicasFor(req: RescaleRequest, slotsPerTaskManager: number | undefined): number {
  if (req.taskManagers !== undefined) return req.taskManagers;
  const slots = slotsPerTaskManager ?? 1;
  return Math.ceil(maxParallelism(req.target) / slots);
}

export async function runWorkloadScale(ctx: ActuatorContext, h0: IntentHandle): Promise<IntentHandle> {
  const kube = need(ctx.kube, 'a Kubernetes connection');
  const target = need(ctx.workload?.(h0.record.jobKey), `the TaskManager Deployment/StatefulSet of job ${h0.record.jobKey}`);
  const ns = target.namespace ?? kube.namespace;
  const replicas = replicasFor(h0.record.request, target.slotsPerTaskManager);
  const what = `${target.kind} ${ns}/${target.name}`;
  let h = h0;
  if (h.record.step === 'intent') {
    const body = { spec: { replicas } };
    try {
      if (target.kind === 'Deployment') {
        await kubeCall(kube, `scale ${what}`, () => kube.apps.patchNamespacedDeploymentScale({ name: target.name, namespace: ns, body }, MERGE_PATCH));
      } else {
        await kubeCall(kube, `scale ${what}`, () => kube.apps.patchNamespacedStatefulSetScale({ name: target.name, namespace: ns, body }, MERGE_PATCH));
      }
    } catch (err) {
      return ctx.journal.finish(h, 'failed', 'rejected', `could not scale ${what}: ${describeError(err)}`, errorData(err));
    }
    h = await ctx.journal.advance(h, 'scaled', { replicas });
  }
  if (h.record.step === 'scaled') {
    const scale = target.kind === 'Deployment'
      ? await kubeCall(kube, `read ${what} scale`, () => kube.apps.readNamespacedDeploymentScale({ name: target.name, namespace: ns }))
      : await kubeCall(kube, `read ${what} scale`, () => kube.apps.readNamespacedStatefulSetScale({ name: target.name, namespace: ns }));
    if (scale.spec?.replicas !== replicas) {
      return ctx.journal.finish(h, 'failed', 'failed', `${what} has replicas ${scale.spec?.replicas}, not ${replicas}: someone else scales it too`);
    }
    return ctx.journal.finish(h, 'verified', 'succeeded', `${what} scaled to ${replicas} TaskManagers (status ${scale.status?.replicas ?? '?'})`);
  }
  return h;
}

interface FlinkDeploymentObject {
  metadata?: { resourceVersion?: string; generation?: number };
  spec?: { job?: { parallelism?: number }; taskManager?: { replicas?: number }; flinkConfiguration?: Record<string, unknown> };
}

/** The merge patch for a FlinkDeployment: only the fields that change, plus the resourceVersion read. */
export function flinkDeploymentPatch(fd: FlinkDeploymentObject, req: RescaleRequest): Record<string, unknown> {
  const conf = fd.spec?.flinkConfiguration ?? {};
  const prevOverrides = parseVertexOverrides(typeof conf[OVERRIDES_KEY] === 'string' ? conf[OVERRIDES_KEY] as string : undefined);
  const merged = { ...prevOverrides, ...req.current, ...req.target };
  const unchanged = JSON.stringify(Object.entries(prevOverrides).sort()) === JSON.stringify(Object.entries(merged).sort());
  const spec: Record<string, unknown> = { job: { parallelism: maxParallelism(merged) } };
  // Reuse the existing string when the map is the same, so the operator sees no spec change.
  spec.flinkConfiguration = { [OVERRIDES_KEY]: unchanged && typeof conf[OVERRIDES_KEY] === 'string' ? conf[OVERRIDES_KEY] : formatVertexOverrides(merged) };
  if (req.taskManagers !== undefined) spec.taskManager = { replicas: req.taskManagers };
  return { metadata: { resourceVersion: fd.metadata?.resourceVersion }, spec };
}

export async function runFlinkDeploymentPatch(ctx: ActuatorContext, h0: IntentHandle): Promise<IntentHandle> {
  const kube = need(ctx.kube, 'a Kubernetes connection');
  const target = need(ctx.flinkDeployment?.(h0.record.jobKey), `the FlinkDeployment of job ${h0.record.jobKey}`);
  const ns = target.namespace ?? kube.namespace;
  const ref = { group: 'flink.apache.org', version: 'v1beta1', namespace: ns, plural: 'flinkdeployments', name: target.name };
  const what = `FlinkDeployment ${ns}/${target.name}`;
  const req = h0.record.request;
  let h = h0;
  if (h.record.step === 'intent') {
    let conflicts = 0;
    for (;;) {
      try {
        const fd = await kubeCall(kube, `read ${what}`, () => kube.custom.getNamespacedCustomObject(ref)) as FlinkDeploymentObject;
        const body = flinkDeploymentPatch(fd, req);
        await kubeCall(kube, `patch ${what}`, () => kube.custom.patchNamespacedCustomObject({ ...ref, body, fieldManager: 'flowpilot' }, MERGE_PATCH));
        break;
      } catch (err) {
        if (isKubeCode(err, 'FP_KUBE_CONFLICT') && ++conflicts < ctx.timing.conflictRetries) {
          ctx.log.info({ what, conflicts }, 'FlinkDeployment changed under us; re-reading');
          continue;
        }
        return ctx.journal.finish(h, 'failed', 'rejected', `could not patch ${what}: ${describeError(err)}`, errorData(err));
      }
    }
    h = await ctx.journal.advance(h, 'patched', { conflicts });
  }
  if (h.record.step === 'patched') {
    const fd = await kubeCall(kube, `read ${what}`, () => kube.custom.getNamespacedCustomObject(ref)) as FlinkDeploymentObject;
    const got = parseVertexOverrides(fd.spec?.flinkConfiguration?.[OVERRIDES_KEY] as string | undefined);
    const missing = Object.entries(req.target).filter(([v, p]) => got[v] !== p);
    if (missing.length > 0) {
      return ctx.journal.finish(h, 'failed', 'failed', `${what} no longer holds the overrides we wrote (${missing.map(([v, p]) => `${v}:${p}`).join(',')}); another writer changed it`);
    }
    return ctx.journal.finish(h, 'verified', 'succeeded',
      `${what} patched (generation ${fd.metadata?.generation ?? '?'}); the operator applies it per its upgradeMode`);
  }
  return h;
}
