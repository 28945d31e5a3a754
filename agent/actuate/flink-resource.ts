/**
 * How a rescale is written into a Flink Kubernetes Operator resource so the operator carries it
 * out IN PLACE (docs/design/operator-rules.md lists each rule with the operator class it comes from):
 * - FlinkDeployment, NATIVE mode (the default when spec.mode is absent): only
 *   `pipeline.jobvertex-parallelism-overrides` in spec.flinkConfiguration changes. That key is
 *   the one SCALE entry of the flinkConfiguration diff in NATIVE mode; spec.job.parallelism
 *   and spec.taskManager.replicas are UPGRADE there (a full stop and redeploy), so they are
 *   never touched. The operator then calls PUT /jobs/:id/resource-requirements (adaptive
 *   scheduler, Flink ≥ 1.18).
 * - FlinkDeployment, STANDALONE mode: only spec.taskManager.replicas changes (SCALE there);
 *   the operator scales the TaskManager Deployment and reactive mode uses the new slots. The
 *   overrides key is UPGRADE in this mode, so it is left alone.
 * - FlinkSessionJob: the overrides key in the session job's own spec.flinkConfiguration; the
 *   mode is that of its session cluster (the FlinkDeployment named by spec.deploymentName).
 * Pure functions of the objects read; the realizer in kubernetes.ts does the I/O. It also
 * refuses a resource whose own autoscaler is on (`job.autoscaler.enabled: "true"`): two
 * autoscalers writing the same key fight.
 */
import { FlowpilotError } from '../../common/errors.ts';
import { formatVertexOverrides, maxParallelism, parseVertexOverrides } from './types.ts';

export const OVERRIDES_KEY = 'pipeline.jobvertex-parallelism-overrides';
export const AUTOSCALER_ENABLED_KEY = 'job.autoscaler.enabled';
export const INPLACE_SCALING_KEY = 'kubernetes.operator.job.upgrade.inplace-scaling.enabled';

export type FlinkResourceKind = 'FlinkDeployment' | 'FlinkSessionJob';
export type DeploymentMode = 'native' | 'standalone';

export interface FlinkResourceStatus {
  lifecycleState?: string;
  observedGeneration?: number;
  jobManagerDeploymentStatus?: string;
  error?: string;
  jobStatus?: { state?: string; jobId?: string; startTime?: string; jobName?: string };
  reconciliationStatus?: { state?: string; lastReconciledSpec?: string };
}

export interface FlinkResourceObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; generation?: number };
  spec?: {
    mode?: string;
    flinkVersion?: string;
    deploymentName?: string;
    job?: { parallelism?: number; upgradeMode?: string; state?: string };
    taskManager?: { replicas?: number };
    flinkConfiguration?: Record<string, unknown>;
  };
  status?: FlinkResourceStatus;
}

/**
 * spec.flinkConfiguration as flat `key: string` pairs. Operator 1.11+ also accepts nested YAML
 * (`pipeline: {jobvertex-parallelism-overrides: ...}`), which it flattens with dots.
 */
export function flinkConf(obj: FlinkResourceObject | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (prefix: string, v: unknown): void => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) walk(prefix === '' ? k : `${prefix}.${k}`, x);
    } else if (v !== undefined && v !== null) {
      out[prefix] = String(v);
    }
  };
  walk('', obj?.spec?.flinkConfiguration ?? {});
  return out;
}

/** spec.mode, NATIVE when absent (KubernetesDeploymentMode.getDeploymentMode). */
export function deploymentModeOf(fd: FlinkResourceObject | undefined): DeploymentMode {
  return fd?.spec?.mode === 'standalone' ? 'standalone' : 'native';
}

export function autoscalerEnabled(obj: FlinkResourceObject | undefined): boolean {
  return (flinkConf(obj)[AUTOSCALER_ENABLED_KEY] ?? '').trim().toLowerCase() === 'true';
}

/** FP_ACTUATE_AUTOSCALER_CONFLICT when the resource runs the operator's own autoscaler. */
export function assertNoOperatorAutoscaler(obj: FlinkResourceObject, what: string): void {
  if (autoscalerEnabled(obj)) {
    throw new FlowpilotError('FP_ACTUATE_AUTOSCALER_CONFLICT',
      `${what} has ${AUTOSCALER_ENABLED_KEY}: "true": the operator's autoscaler already rescales it and writes the same ${OVERRIDES_KEY} key. `
      + `Two autoscalers would undo each other; set ${AUTOSCALER_ENABLED_KEY}: "false" on it, or leave this job to the operator's autoscaler.`);
  }
}

/** "v1_18" → [1, 18]; undefined when absent or unparsable. */
function flinkVersion(v: string | undefined): [number, number] | undefined {
  const m = /^v(\d+)_(\d+)$/.exec(v ?? '');
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

const NOT_SCALABLE_JOB_STATES = new Set(['FAILED', 'CANCELED', 'FINISHED', 'SUSPENDED', 'RECONCILING']);

/**
 * Why the operator would NOT take its in-place path for an overrides change in NATIVE mode
 * (NativeFlinkService.supportsInPlaceScaling), from the resource and, for a session job, its
 * session cluster. Empty when it would.
 */
export function nativeInPlaceBlockers(res: FlinkResourceObject, cluster: FlinkResourceObject): string[] {
  const out: string[] = [];
  const conf = { ...flinkConf(cluster), ...flinkConf(res) };
  if (!res.spec?.job) out.push('it has no spec.job (a session cluster has no job to rescale)');
  if ((conf[INPLACE_SCALING_KEY] ?? 'true').toLowerCase() === 'false') out.push(`${INPLACE_SCALING_KEY} is "false"`);
  const v = flinkVersion(cluster.spec?.flinkVersion);
  if (!v) out.push(`spec.flinkVersion is ${cluster.spec?.flinkVersion === undefined ? 'not set' : `"${cluster.spec.flinkVersion}"`} (the operator needs v1_18 or newer to rescale in place)`);
  else if (v[0] < 1 || (v[0] === 1 && v[1] < 18)) out.push(`flinkVersion ${cluster.spec?.flinkVersion} is older than v1_18 (no resource-requirements API)`);
  if ((conf['jobmanager.scheduler'] ?? '').toLowerCase() !== 'adaptive') out.push('jobmanager.scheduler is not "adaptive"');
  const state = res.status?.jobStatus?.state;
  if (state && NOT_SCALABLE_JOB_STATES.has(state)) out.push(`the job is ${state}`);
  return out;
}

export interface RescaleTarget {
  target: Record<string, number>;
  /** STANDALONE: TaskManager count; derived from the target and the slots per TaskManager when absent. */
  taskManagers?: number;
}

export interface RealizationPlan {
  kind: FlinkResourceKind;
  mode: DeploymentMode;
  /** The merge patch to send; null when the resource already holds the desired state. */
  patch: Record<string, unknown> | null;
  /** Dotted spec paths the patch changes. */
  changes: string[];
  /** The path the operator is expected to take. */
  expected: 'in-place' | 'upgrade';
  /** Why an upgrade is expected (empty for in place). */
  blockers: string[];
  /** NATIVE: the overrides map after the patch. */
  overrides?: Record<string, number>;
  /** STANDALONE: the replica count after the patch, and the slots per TaskManager. */
  replicas?: number;
  slotsPerTaskManager?: number;
}

function sameMap(a: Record<string, number>, b: Record<string, number>): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}

/** A merge-patch value for the overrides key, nested when the resource writes it nested. */
function overridesPatch(res: FlinkResourceObject, value: string): Record<string, unknown> {
  const fc = res.spec?.flinkConfiguration ?? {};
  const nested = fc.pipeline;
  if (!(OVERRIDES_KEY in fc) && nested !== null && typeof nested === 'object' && 'jobvertex-parallelism-overrides' in (nested as object)) {
    return { pipeline: { 'jobvertex-parallelism-overrides': value } };
  }
  return { [OVERRIDES_KEY]: value };
}

function withVersion(res: FlinkResourceObject, spec: Record<string, unknown>): Record<string, unknown> {
  const rv = res.metadata?.resourceVersion;
  return rv ? { metadata: { resourceVersion: rv }, spec } : { spec };
}

/**
 * The plan for one rescale of `res` (a FlinkDeployment, or a FlinkSessionJob with its session
 * cluster `cluster`). Throws FP_ACTUATE_AUTOSCALER_CONFLICT, or FP_ACTUATE_UNSUPPORTED where
 * the operator has no in-place path at all (a session job on a STANDALONE cluster).
 */
export function planRescale(res: FlinkResourceObject, req: RescaleTarget, cluster?: FlinkResourceObject): RealizationPlan {
  const kind: FlinkResourceKind = res.kind === 'FlinkSessionJob' || res.spec?.deploymentName !== undefined ? 'FlinkSessionJob' : 'FlinkDeployment';
  const what = `${kind} ${res.metadata?.namespace ? `${res.metadata.namespace}/` : ''}${res.metadata?.name ?? '?'}`;
  assertNoOperatorAutoscaler(res, what);
  const clusterObj = kind === 'FlinkSessionJob' ? cluster : res;
  if (kind === 'FlinkSessionJob' && !clusterObj) {
    throw new FlowpilotError('FP_ACTUATE_CONFIG', `${what}: its session cluster (FlinkDeployment ${res.spec?.deploymentName ?? '?'}) is needed to know the deployment mode`);
  }
  if (kind === 'FlinkSessionJob') assertNoOperatorAutoscaler(clusterObj!, `the session cluster of ${what}`);
  const mode = deploymentModeOf(clusterObj);
  if (mode === 'standalone') {
    if (kind === 'FlinkSessionJob') {
      throw new FlowpilotError('FP_ACTUATE_UNSUPPORTED',
        `${what} runs on a STANDALONE session cluster: the operator has no in-place rescale for a session job there (StandaloneFlinkService.scale looks for the job's own TaskManager Deployment). Scale the session cluster's TaskManagers instead (--deployment or --flinkdeployment on the cluster).`);
    }
    return planStandalone(res, req);
  }
  return planNative(kind, res, clusterObj!, req);
}

function planNative(kind: FlinkResourceKind, res: FlinkResourceObject, cluster: FlinkResourceObject, req: RescaleTarget): RealizationPlan {
  const current = flinkConf(res)[OVERRIDES_KEY];
  const prev = parseVertexOverrides(current);
  // Never drop an existing entry: a removed override makes the operator fall back to an upgrade
  // (NativeFlinkService.scale).
  const next = { ...prev, ...req.target };
  const blockers = nativeInPlaceBlockers(res, cluster);
  const base = { kind, mode: 'native' as const, expected: blockers.length === 0 ? 'in-place' as const : 'upgrade' as const, blockers, overrides: next };
  if (current !== undefined && sameMap(prev, next)) return { ...base, patch: null, changes: [] };
  return { ...base, patch: withVersion(res, { flinkConfiguration: overridesPatch(res, formatVertexOverrides(next)) }), changes: [`spec.flinkConfiguration["${OVERRIDES_KEY}"]`] };
}

function planStandalone(res: FlinkResourceObject, req: RescaleTarget): RealizationPlan {
  const conf = flinkConf(res);
  const slots = Math.max(1, Number.parseInt(conf['taskmanager.numberOfTaskSlots'] ?? '1', 10) || 1);
  const replicas = req.taskManagers ?? Math.ceil(maxParallelism(req.target) / slots);
  const blockers: string[] = [];
  // StandaloneFlinkService.scale: without reactive mode the replicas change becomes an upgrade.
  if ((conf['scheduler-mode'] ?? '').toLowerCase() !== 'reactive' && res.spec?.job) blockers.push('scheduler-mode is not "reactive"');
  const state = res.status?.jobStatus?.state;
  if (state && NOT_SCALABLE_JOB_STATES.has(state)) blockers.push(`the job is ${state}`);
  const base = { kind: 'FlinkDeployment' as const, mode: 'standalone' as const, expected: blockers.length === 0 ? 'in-place' as const : 'upgrade' as const, blockers, replicas, slotsPerTaskManager: slots };
  if (res.spec?.taskManager?.replicas === replicas) return { ...base, patch: null, changes: [] };
  return { ...base, patch: withVersion(res, { taskManager: { replicas } }), changes: ['spec.taskManager.replicas'] };
}

/** What the job should run at after a STANDALONE reactive rescale: every vertex at all slots, up to its max parallelism. */
export function reactiveParallelism(replicas: number, slots: number, maxParallelismOfVertex: number | undefined): number {
  const p = replicas * slots;
  return maxParallelismOfVertex !== undefined && maxParallelismOfVertex > 0 ? Math.min(p, maxParallelismOfVertex) : p;
}
