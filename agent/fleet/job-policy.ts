/**
 * The policy of one managed job, from three layers (later wins key by key):
 *   the resource's `job.autoscaler.*` keys (scaling/operator-keys.ts, as discovery mapped them)
 *   < the agent's policy file (scaling.policyFile)
 *   < the policy ConfigMap named by the resource's `flowpilot.io/policy` annotation.
 * The ConfigMap lives in the resource's namespace; its policy is under the data key
 * `policy.yaml` (or `policy.yml`, or its only key). A ConfigMap that is missing or does not
 * parse is an error the caller shows (and keeps the job's previous policy meanwhile).
 * `overrides` is what the job adds over the policy file, and `digest` identifies the
 * effective policy, both for /api/v1/scaling/jobs.
 */
import { createHash } from 'node:crypto';
import { parseDocument } from 'yaml';
import { FlowpilotError, errorMessage } from '../../common/errors.ts';
import { deepMerge, underPolicyFile } from '../scaling/operator-keys.ts';
import { parsePolicy, policyFromRaw, type ScalingPolicy } from '../scaling/policy.ts';

export interface JobPolicy {
  policy: ScalingPolicy;
  /** the ConfigMap's keys and the resource's mapped job.autoscaler.* keys, as merged (no defaults) */
  overrides: Record<string, unknown>;
  digest: string;
  source: string;
}

/** Reads a ConfigMap's data; null when it does not exist. */
export type ConfigMapReader = (namespace: string, name: string) => Promise<Record<string, string> | null>;

export const POLICY_DATA_KEYS = ['policy.yaml', 'policy.yml'];

function policyText(data: Record<string, string>, where: string): string {
  for (const k of POLICY_DATA_KEYS) if (data[k] !== undefined) return data[k]!;
  const keys = Object.keys(data);
  if (keys.length === 1) return data[keys[0]!]!;
  throw new FlowpilotError('FP_POLICY_INVALID', `${where} has no policy.yaml key (keys: ${keys.join(', ') || 'none'}); put the policy YAML under policy.yaml`);
}

/** What each policy was built from (loadJobPolicy's `previous`): the inputs as text, and the policy file's object. */
const builtFrom = new WeakMap<JobPolicy, { inputs: string; fileRaw: Record<string, unknown> }>();

/**
 * With `previous` (the job's policy as this function last built it), a policy whose inputs are
 * the same (namespace, ConfigMap name and text, the resource's keys, the policy file) is that one,
 * not built and validated again: a fleet replica refreshes every job's policy every
 * `policyRefresh`, and the schema checks and digest were most of that (BENCHMARKS.md, "Fleet").
 * The ConfigMap is read either way.
 */
export async function loadJobPolicy(
  job: { namespace: string; policyConfigMap: string | null; operatorPolicy: Record<string, unknown> },
  fileRaw: Record<string, unknown>,
  readConfigMap: ConfigMapReader,
  previous?: JobPolicy,
): Promise<JobPolicy> {
  let text: string | null = null;
  if (job.policyConfigMap) {
    const where = `ConfigMap ${job.namespace}/${job.policyConfigMap}`;
    let data: Record<string, string> | null;
    try {
      data = await readConfigMap(job.namespace, job.policyConfigMap);
    } catch (err) {
      throw new FlowpilotError('FP_POLICY_READ', `cannot read the policy ${where}: ${errorMessage(err)}`);
    }
    if (data === null) throw new FlowpilotError('FP_POLICY_READ', `the policy ${where} (annotation flowpilot.io/policy) does not exist`);
    text = policyText(data, where);
  }
  const inputs = JSON.stringify([job.namespace, job.policyConfigMap, text, job.operatorPolicy]);
  const was = previous === undefined ? undefined : builtFrom.get(previous);
  if (previous !== undefined && was !== undefined && was.inputs === inputs && was.fileRaw === fileRaw) return previous;
  let cmRaw: Record<string, unknown> = {};
  let source = 'policy file';
  if (job.policyConfigMap && text !== null) {
    const where = `ConfigMap ${job.namespace}/${job.policyConfigMap}`;
    parsePolicy(text, where);
    cmRaw = (parseDocument(text).toJS() ?? {}) as Record<string, unknown>;
    source = where;
  }
  const hasKeys = Object.keys(job.operatorPolicy).length > 0;
  if (hasKeys) source = `${source} over job.autoscaler.* keys`;
  const raw = underPolicyFile(deepMerge(fileRaw, cmRaw) as Record<string, unknown>, hasKeys ? job.operatorPolicy : null);
  const policy = policyFromRaw(raw, `the policy of ${job.namespace} (${source})`);
  const overrides = deepMerge(job.operatorPolicy, cmRaw) as Record<string, unknown>;
  const digest = createHash('sha256').update(JSON.stringify(policy)).digest('hex').slice(0, 12);
  const built: JobPolicy = { policy, overrides, digest, source };
  builtFrom.set(built, { inputs, fileRaw });
  return built;
}
