/**
 * Loads a scaling policy from YAML: parses with the `yaml` package (keeping node ranges),
 * validates with the zod schema, and reports every problem, one per line, as file:line:col with
 * the key at fault and how to fix it. `policyForJob` applies a job's overrides from `jobs:`.
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
  if (issue.code === 'unrecognized_keys') return `unknown key ${issue.keys.map((k) => `"${k}"`).join(', ')} (see docs/reference/scaling-policy.md for the keys)`;
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
  const problems = policyProblems(raw, where, prefix);
  if (problems.length > 0) throw new FlowpilotError('FP_POLICY_INVALID', problems.join('\n'));
  return policySchema.parse(raw);
}

/** Every problem of a raw policy (schema issues, cron expressions, the utilization band), each located. */
function policyProblems(raw: unknown, where: (path: readonly PropertyKey[], atKey?: boolean) => string, prefix: readonly PropertyKey[]): string[] {
  const problems: string[] = [];
  const res = policySchema.safeParse(raw);
  if (!res.success) {
    for (const issue of res.error.issues) {
      const base = [...prefix, ...issue.path];
      const keys = issue.code === 'unrecognized_keys' ? issue.keys : [undefined];
      for (const key of keys) {
        const path = key === undefined ? base : [...base, key];
        const one = issue.code === 'unrecognized_keys' ? `unknown key "${String(key)}" (see docs/reference/scaling-policy.md for the keys)` : describeIssue(issue);
        problems.push(`${where(path, issue.code === 'unrecognized_keys')}: ${path.join('.') || 'policy'}: ${one}`);
      }
    }
  }
  // Cron expressions and the band are checked on what parsed, so they are reported beside schema issues.
  const data = (res.success ? res.data : raw) as { schedules?: unknown; utilization?: unknown } | null;
  const schedules = Array.isArray(data?.schedules) ? (data.schedules as unknown[]) : [];
  schedules.forEach((s, i) => {
    const cron = (s as { cron?: unknown } | null)?.cron;
    if (typeof cron !== 'string') return;
    const check = CronTime.validateCronExpression(cron);
    if (!check.valid) {
      problems.push(`${where([...prefix, 'schedules', i, 'cron'])}: ${[...prefix, 'schedules', i, 'cron'].join('.')}: ${check.error?.message ?? 'invalid cron expression'}`);
    }
  });
  if (res.success) {
    res.data.schedules.forEach((s, i) => {
      if (!Number.isFinite(seconds(s.duration))) problems.push(`${where([...prefix, 'schedules', i, 'duration'])}: bad duration`);
    });
    const u = res.data.utilization;
    if (!(u.min <= u.target && u.target <= u.max)) {
      problems.push(`${where([...prefix, 'utilization'])}: ${[...prefix, 'utilization'].join('.')}: need min <= target <= max (got ${u.min}, ${u.target}, ${u.max})`);
    }
  }
  return problems;
}

/** Parses policy YAML text; `file` is used in error locations. */
export function parsePolicy(text: string, file = 'policy.yaml'): ScalingPolicy {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  if (doc.errors.length > 0) {
    const lines = doc.errors.map((e) => {
      const pos = e.linePos?.[0] ?? { line: 1, col: 1 };
      return `${formatLocation({ file, line: pos.line, column: pos.col })}: YAML syntax: ${e.message.split('\n')[0]}`;
    });
    throw new FlowpilotError('FP_POLICY_INVALID', lines.join('\n'));
  }
  const raw: unknown = doc.toJS() ?? {};
  if (doc.contents !== null && !isMap(doc.contents)) {
    throw new FlowpilotError('FP_POLICY_INVALID', `${file}:1:1: the policy must be a YAML mapping of keys (see docs/reference/scaling-policy.md)`);
  }
  const where = (path: readonly PropertyKey[], atKey = false): string => locate(doc, lc, file, path, atKey);
  // Every problem is reported at once: the top level's, then each job's merged view (so a bad
  // override fails at load time with its location).
  const problems = policyProblems(raw, where, []);
  const jobs = (raw as { jobs?: unknown }).jobs;
  if (jobs && typeof jobs === 'object' && !Array.isArray(jobs)) {
    for (const [job, over] of Object.entries(jobs as Record<string, unknown>)) {
      const merged = deepMerge({ ...(raw as Record<string, unknown>), jobs: {} }, over);
      // A top-level problem shows again in every job's merged view; keep only the override's own.
      const seen = new Set(problems.map((p) => p.slice(p.indexOf(': ') + 2)));
      for (const p of policyProblems(merged, where, ['jobs', job])) {
        if (!seen.has(p.slice(p.indexOf(': ') + 2).replace(`jobs.${job}.`, ''))) problems.push(p);
      }
    }
  }
  if (problems.length > 0) throw new FlowpilotError('FP_POLICY_INVALID', problems.join('\n'));
  return policySchema.parse(raw);
}

function readPolicyText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new FlowpilotError('FP_POLICY_READ', `cannot read policy file ${file}: ${(err as Error).message}`);
  }
}

export function loadPolicyFile(file: string): ScalingPolicy {
  return parsePolicy(readPolicyText(file), file);
}

/** The policy file as written (no defaults), after checking it is a valid policy. */
export function loadPolicyRaw(file: string): Record<string, unknown> {
  const text = readPolicyText(file);
  parsePolicy(text, file);
  return (parseDocument(text).toJS() ?? {}) as Record<string, unknown>;
}

/** Validates a raw policy built in code (e.g. the policy file over the operator's keys); `what` names it in errors. */
export function policyFromRaw(raw: Record<string, unknown>, what: string): ScalingPolicy {
  const where = (): string => what;
  const policy = validate(raw, where, []);
  for (const [job, over] of Object.entries(policy.jobs)) validate(deepMerge({ ...raw, jobs: {} }, over), where, ['jobs', job]);
  return policy;
}

/** The policy for one job: its `jobs.<id>` or `jobs.<name>` overrides applied. */
export function policyForJob(policy: ScalingPolicy, jobId: string, jobName?: string): ScalingPolicy {
  const over = policy.jobs[jobId] ?? (jobName === undefined ? undefined : policy.jobs[jobName]);
  if (!over) return policy;
  return policySchema.parse(deepMerge({ ...policy, jobs: {} }, over));
}
