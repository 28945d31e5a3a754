/**
 * A MODEL, for tests, of how the Flink Kubernetes Operator classifies a spec change — NOT the
 * operator. It covers the fields flowpilot writes or could write when it rescales; each rule
 * names the operator class it is taken from (apache/flink-kubernetes-operator, main branch,
 * read in July 2026; docs/design/operator-rules.md has the same table):
 * - DiffType order IGNORE < SCALE < UPGRADE < SAVEPOINT_REDEPLOY; a spec's diff type is the
 *   largest of its field diffs (api/diff/DiffType.from).
 * - A field with @SpecDiff(value, mode=…) gets `value` only in those modes and UPGRADE in the
 *   others; a field without annotation is UPGRADE; a nested Diffable is compared field by field
 *   when both sides are non-null (reconciler/diff/ReflectiveDiffBuilder.appendFields).
 * - spec.job.parallelism: @SpecDiff(SCALE, mode = STANDALONE) (api/spec/JobSpec).
 * - spec.taskManager.replicas: @SpecDiff(SCALE, mode = STANDALONE) (api/spec/TaskManagerSpec).
 * - spec.job.{upgradeMode, allowNonRestoredState, initialSavepointPath, initialStateReference,
 *   savepointTriggerNonce, checkpointTriggerNonce}: IGNORE; savepointRedeployNonce:
 *   SAVEPOINT_REDEPLOY, ignored when set to null (JobSpec, onNullIgnore).
 * - spec.flinkConfiguration, key by key, first matching prefix wins: `job.autoscaler` IGNORE,
 *   `parallelism.default` IGNORE, `kubernetes.operator` IGNORE,
 *   `pipeline.jobvertex-parallelism-overrides` SCALE in NATIVE mode only; any other key UPGRADE
 *   (api/spec/AbstractFlinkSpec @SpecDiff.Config, ReflectiveDiffBuilder.configDiff/getType).
 * - The deployment mode is spec.mode, NATIVE when absent (KubernetesDeploymentMode); a session
 *   job takes its session cluster's (FlinkSessionJobContext.getDeploymentMode).
 */

export type DiffType = 'IGNORE' | 'SCALE' | 'UPGRADE' | 'SAVEPOINT_REDEPLOY';
export type Mode = 'native' | 'standalone';

const ORDER: DiffType[] = ['IGNORE', 'SCALE', 'UPGRADE', 'SAVEPOINT_REDEPLOY'];

export interface FieldDiff {
  path: string;
  type: DiffType;
  /** The operator class (and annotation) the rule comes from. */
  rule: string;
}

export interface SpecDiffResult {
  type: DiffType;
  diffs: FieldDiff[];
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function same(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isObj(v)) return `{${Object.keys(v).sort().filter((k) => v[k] !== undefined && v[k] !== null).map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  return JSON.stringify(v ?? null);
}

/** Flattens a (possibly nested, ConfigObjectNode) flinkConfiguration to dotted keys and string values. */
export function flatConf(v: unknown, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  if (isObj(v)) for (const [k, x] of Object.entries(v)) flatConf(x, prefix === '' ? k : `${prefix}.${k}`, out);
  else if (v !== undefined && v !== null && prefix !== '') out[prefix] = String(v);
  return out;
}

const CONFIG_ENTRIES: Array<{ prefix: string; type: DiffType; modes?: Mode[] }> = [
  { prefix: 'job.autoscaler', type: 'IGNORE' },
  { prefix: 'parallelism.default', type: 'IGNORE' },
  { prefix: 'kubernetes.operator', type: 'IGNORE' },
  { prefix: 'pipeline.jobvertex-parallelism-overrides', type: 'SCALE', modes: ['native'] },
];

function configKeyType(key: string, mode: Mode): DiffType {
  for (const e of CONFIG_ENTRIES) {
    if (e.modes && !e.modes.includes(mode)) continue;
    if (key.startsWith(e.prefix)) return e.type;
  }
  return 'UPGRADE';
}

/** @SpecDiff annotations per nested class: field → [type, modes | undefined, onNullIgnore]. */
const ANNOTATED: Record<string, Record<string, [DiffType, Mode[] | undefined, boolean?]>> = {
  job: {
    parallelism: ['SCALE', ['standalone']],
    upgradeMode: ['IGNORE', undefined],
    allowNonRestoredState: ['IGNORE', undefined],
    initialSavepointPath: ['IGNORE', undefined],
    initialStateReference: ['IGNORE', undefined],
    savepointTriggerNonce: ['IGNORE', undefined],
    checkpointTriggerNonce: ['IGNORE', undefined],
    savepointRedeployNonce: ['SAVEPOINT_REDEPLOY', undefined, true],
  },
  taskManager: { replicas: ['SCALE', ['standalone']] },
};
const CLASS_OF: Record<string, string> = { job: 'JobSpec', taskManager: 'TaskManagerSpec' };

function nestedDiffs(field: string, before: Obj, after: Obj, mode: Mode, out: FieldDiff[]): void {
  const ann = ANNOTATED[field] ?? {};
  for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (same(before[k], after[k])) continue;
    const a = ann[k];
    const path = `spec.${field}.${k}`;
    if (!a) {
      out.push({ path, type: 'UPGRADE', rule: `${CLASS_OF[field] ?? field}.${k} has no @SpecDiff → UPGRADE (ReflectiveDiffBuilder.appendFields)` });
      continue;
    }
    const [type, modes, onNullIgnore] = a;
    if (onNullIgnore && (after[k] === undefined || after[k] === null)) continue;
    const applies = !modes || modes.includes(mode);
    out.push({
      path, type: applies ? type : 'UPGRADE',
      rule: `${CLASS_OF[field]}.${k} @SpecDiff(${type}${modes ? `, mode = ${modes.map((m) => m.toUpperCase()).join('|')}` : ''})${applies ? '' : ` → UPGRADE in ${mode.toUpperCase()} mode`} (ReflectiveDiffBuilder.appendFields)`,
    });
  }
}

/** The operator's verdict on changing `before` (the last reconciled spec) into `after`, in `mode`. */
export function diffSpecs(before: Obj, after: Obj, mode: Mode): SpecDiffResult {
  const diffs: FieldDiff[] = [];
  for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const a = before[k];
    const b = after[k];
    if (same(a, b)) continue;
    if (k === 'flinkConfiguration') {
      const fa = flatConf(a);
      const fb = flatConf(b);
      for (const key of new Set([...Object.keys(fa), ...Object.keys(fb)])) {
        if (fa[key] === fb[key]) continue;
        const type = configKeyType(key, mode);
        diffs.push({ path: `spec.flinkConfiguration["${key}"]`, type, rule: `AbstractFlinkSpec.flinkConfiguration @SpecDiff.Config → ${type} in ${mode.toUpperCase()} mode (ReflectiveDiffBuilder.getType)` });
      }
    } else if ((k === 'job' || k === 'taskManager') && isObj(a) && isObj(b)) {
      nestedDiffs(k, a, b, mode, diffs);
    } else {
      diffs.push({ path: `spec.${k}`, type: 'UPGRADE', rule: `${k} is not annotated, or one side is null → UPGRADE (ReflectiveDiffBuilder.appendFields)` });
    }
  }
  const type = diffs.reduce<DiffType>((m, d) => (ORDER.indexOf(d.type) > ORDER.indexOf(m) ? d.type : m), 'IGNORE');
  return { type, diffs };
}
