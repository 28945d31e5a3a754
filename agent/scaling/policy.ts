/**
 * Loads a scaling policy from YAML: parses with the `yaml` package (keeping node ranges),
 * validates with the zod schema, and reports the first problem as file:line:col with the
 * key at fault and how to fix it. `policyForJob` applies a job's overrides from `jobs:`.
 * Schedules' cron expressions are checked here too, so a bad one never reaches decide().
 */
import { readFileSync } from 'node:fs';
import { isMap, LineCounter, parseDocument, type Document } from 'yaml';
import { CronTime } from 'cron';
import type { z } from 'zod';
import { FlowpilotError, formatLocation } from '../../common/errors.ts';
import { policySchema, seconds, type ScalingPolicy } from './policy-schema.ts';

export type { ScalingPolicy };

/** The policy with every default. */
export function defaultPolicy(): ScalingPolicy {
  return policySchema.parse({});
}

function locate(doc: Document, lc: LineCounter, file: string, path: readonly PropertyKey[], atKey = false): string {
  if (atKey && path.length > 0) {
    // Point at the key itself (for unknown keys), found among the parent map's pairs.
    const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1) as unknown[], true);
    if (isMap(parent)) {
      const pair = parent.items.find((it) => (it.key as { value?: unknown } | null)?.value === path[path.length - 1]);
      const range = (pair?.key as { range?: [number, number, number] } | undefined)?.range;
      if (range) {
        const pos = lc.linePos(range[0]);
        return formatLocation({ file, line: pos.line, column: pos.col });
      }
    }
  }
  // Walk down as far as the path exists, so a missing key points at its parent map.
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n) as unknown[], true);
    const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
    if (range) {
      const pos = lc.linePos(range[0]);
      return formatLocation({ file, line: pos.line, column: pos.col });
    }
  }
  return `${file}:1:1`;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `unknown key ${issue.keys.map((k) => `"${k}"`).join(', ')} (see docs/scaling-policy.md for the keys)`;
  return issue.message;
}

function deepMerge(base: unknown, over: unknown): unknown {
  if (base && over && typeof base === 'object' && typeof over === 'object' && !Array.isArray(base) && !Array.isArray(over)) {
    const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
    for (const [k, v] of Object.entries(over as Record<string, unknown>)) out[k] = deepMerge(out[k], v);
    return out;
  }
  return over === undefined ? base : over;
}

function validate(raw: unknown, where: (path: readonly PropertyKey[], atKey?: boolean) => string, prefix: readonly PropertyKey[]): ScalingPolicy {
  const res = policySchema.safeParse(raw);
  if (!res.success) {
    const issue = res.error.issues[0]!;
    let path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') path = [...path, issue.keys[0]!];
    throw new FlowpilotError('FP_POLICY_INVALID', `${where(path, issue.code === 'unrecognized_keys')}: ${path.join('.') || 'policy'}: ${describeIssue(issue)}`);
  }
  res.data.schedules.forEach((s, i) => {
    const check = CronTime.validateCronExpression(s.cron);
    if (!check.valid) {
      throw new FlowpilotError('FP_POLICY_INVALID', `${where([...prefix, 'schedules', i, 'cron'])}: ${[...prefix, 'schedules', i, 'cron'].join('.')}: ${check.error?.message ?? 'invalid cron expression'}`);
    }
    if (!Number.isFinite(seconds(s.duration))) throw new FlowpilotError('FP_POLICY_INVALID', `${where([...prefix, 'schedules', i, 'duration'])}: bad duration`);
  });
  const u = res.data.utilization;
  if (!(u.min <= u.target && u.target <= u.max)) {
    throw new FlowpilotError('FP_POLICY_INVALID', `${where([...prefix, 'utilization'])}: ${[...prefix, 'utilization'].join('.')}: need min <= target <= max (got ${u.min}, ${u.target}, ${u.max})`);
  }
  return res.data;
}

/** Parses policy YAML text; `file` is used in error locations. */
export function parsePolicy(text: string, file = 'policy.yaml'): ScalingPolicy {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = e.linePos?.[0] ?? { line: 1, col: 1 };
    throw new FlowpilotError('FP_POLICY_INVALID', `${formatLocation({ file, line: pos.line, column: pos.col })}: YAML syntax: ${e.message.split('\n')[0]}`);
  }
  const raw: unknown = doc.toJS() ?? {};
  if (doc.contents !== null && !isMap(doc.contents)) {
    throw new FlowpilotError('FP_POLICY_INVALID', `${file}:1:1: the policy must be a YAML mapping of keys (see docs/scaling-policy.md)`);
  }
  const where = (path: readonly PropertyKey[], atKey = false): string => locate(doc, lc, file, path, atKey);
  const policy = validate(raw, where, []);
  // Validate each job's merged view now, so a bad override fails at load time with its location.
  for (const [job, over] of Object.entries(policy.jobs)) {
    const merged = deepMerge({ ...(raw as Record<string, unknown>), jobs: {} }, over);
    validate(merged, where, ['jobs', job]);
  }
  return policy;
}

export function loadPolicyFile(file: string): ScalingPolicy {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new FlowpilotError('FP_POLICY_READ', `cannot read policy file ${file}: ${(err as Error).message}`);
  }
  return parsePolicy(text, file);
}

/** The policy for one job: its `jobs.<id>` or `jobs.<name>` overrides applied. */
export function policyForJob(policy: ScalingPolicy, jobId: string, jobName?: string): ScalingPolicy {
  const over = policy.jobs[jobId] ?? (jobName === undefined ? undefined : policy.jobs[jobName]);
  if (!over) return policy;
  return policySchema.parse(deepMerge({ ...policy, jobs: {} }, over));
}
