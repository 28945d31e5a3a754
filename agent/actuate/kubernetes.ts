/**
 * The two Kubernetes actuators.
 * - kubernetes-deployment (Flink reactive mode / the engine's TaskManager Deployment): set the
 *   TaskManager Deployment's or StatefulSet's replicas through its `scale` subresource with a
 *   merge patch; the job rescales itself as TaskManagers come and go.
 *   Journal: intent → scaled → verified.
 * - flink-deployment (Flink Kubernetes Operator): a FlinkDeployment or FlinkSessionJob patch
 *   shaped so the operator rescales in place (NATIVE: only the parallelism overrides key;
 *   STANDALONE: only spec.taskManager.replicas), then watched to the end. It lives in
 *   flink-resource-realizer.ts (rules in flink-resource.ts) and is re-exported here.
 * Both are idempotent: resuming re-applies the same desired state.
 */
import { kubeCall, isKubeCode, MERGE_PATCH } from '../kube/client.ts';
import { need, type ActuatorContext } from './context.ts';
import { describeError, errorData } from './context.ts';
import type { IntentHandle } from './journal/intent.ts';
import { maxParallelism, type RescaleRequest } from './types.ts';

export { OVERRIDES_KEY } from './flink-resource.ts';
export { runFlinkResourceRescale as runFlinkDeploymentPatch, planFor } from './flink-resource-realizer.ts';

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
