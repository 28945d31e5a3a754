/**
 * The policy the agent runs with when its jobs live in FlinkDeployments: the operator's
 * `job.autoscaler.*` keys of each configured FlinkDeployment (actuation.defaults /
 * actuation.jobs.<name>.flinkDeployment) under the policy file, which wins key by key
 * (scaling/operator-keys.ts). Read once at start; every key is logged as applied, ignored or
 * invalid, so a migration shows what it took over.
 */
import type { Logger } from '../../common/log.ts';
import { kubeCall, type KubeClients } from '../kube/client.ts';
import { operatorPolicyFragment, underPolicyFile, type OperatorMapping } from '../scaling/operator-keys.ts';
import { loadPolicyRaw, policyFromRaw, type ScalingPolicy } from '../scaling/policy.ts';
import type { AgentConfig } from './config.ts';

/** `spec.flinkConfiguration` of a FlinkDeployment (or {} when it has none). */
export async function readFlinkConfiguration(kube: KubeClients, fd: { name: string; namespace?: string | undefined }): Promise<Record<string, unknown>> {
  const namespace = fd.namespace ?? kube.namespace;
  const obj = await kubeCall(kube, `read FlinkDeployment ${namespace}/${fd.name}`, () =>
    kube.custom.getNamespacedCustomObject({ group: 'flink.apache.org', version: 'v1beta1', namespace, plural: 'flinkdeployments', name: fd.name })) as { spec?: { flinkConfiguration?: Record<string, unknown> } };
  return obj.spec?.flinkConfiguration ?? {};
}

function report(log: Logger, where: string, m: OperatorMapping): void {
  for (const k of m.applied) log.info({ flinkDeployment: where, key: k.key, value: k.value, became: k.note }, 'operator autoscaler key applied');
  for (const k of m.ignored) log.info({ flinkDeployment: where, key: k.key, value: k.value, why: k.note }, 'operator autoscaler key ignored');
  for (const k of m.invalid) log.warn({ flinkDeployment: where, key: k.key, value: k.value, why: k.note }, 'operator autoscaler key invalid; not applied');
}

export async function operatorPolicy(config: AgentConfig, kube: KubeClients, log: Logger): Promise<ScalingPolicy> {
  const fileRaw = config.scaling.policyFile ? loadPolicyRaw(config.scaling.policyFile) : {};
  const a = config.actuation;
  let global: Record<string, unknown> | null = null;
  if (a.defaults.flinkDeployment) {
    const m = operatorPolicyFragment(await readFlinkConfiguration(kube, a.defaults.flinkDeployment));
    report(log, a.defaults.flinkDeployment.name, m);
    global = m.policy;
  }
  const perJob: Record<string, Record<string, unknown>> = {};
  for (const [job, s] of Object.entries(a.jobs)) {
    if (!s.flinkDeployment) continue;
    const m = operatorPolicyFragment(await readFlinkConfiguration(kube, s.flinkDeployment));
    report(log, s.flinkDeployment.name, m);
    if (Object.keys(m.policy).length > 0) perJob[job] = m.policy;
  }
  return policyFromRaw(underPolicyFile(fileRaw, global, perJob), `${config.scaling.policyFile ?? 'the built-in policy'} over the FlinkDeployment's job.autoscaler.* keys`);
}
