/**
 * Generates docs/reference/scaling-policy.md from the policy schema: one row per key with its type,
 * default and description. `node agent/scaling/policy-docs.ts` rewrites the file;
 * `flowpilot scale policy-docs --check` and a test fail when the file is stale.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { policySchema } from './policy-schema.ts';

interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  enum?: unknown[];
  additionalProperties?: JsonSchema | boolean;
}

function typeOf(s: JsonSchema): string {
  if (s.enum) return s.enum.map((e) => JSON.stringify(e)).join(' \\| ');
  if (s.anyOf) return s.anyOf.map(typeOf).join(' or ');
  if (Array.isArray(s.type)) return s.type.join(' or ');
  if (s.type === 'array') return `list of ${s.items ? typeOf(s.items) : 'any'}`;
  if (s.type === 'object' && !s.properties) return 'map';
  return s.type ?? 'any';
}

function rows(s: JsonSchema, prefix: string, out: string[]): void {
  for (const [key, prop] of Object.entries(s.properties ?? {})) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (prop.type === 'object' && prop.properties && key !== 'vertices') {
      if (prop.description) out.push(`| \`${path}\` | section | | ${prop.description} |`);
      rows(prop, path, out);
      continue;
    }
    const def = prop.default === undefined ? '' : `\`${JSON.stringify(prop.default)}\``;
    out.push(`| \`${path}\` | ${typeOf(prop).replace(/\|/g, '\\|').replace(/\\\\\|/g, '\\|')} | ${def} | ${(prop.description ?? '').replace(/\|/g, '\\|')} |`);
  }
}

export const POLICY_EXAMPLE = [
  'utilization: { target: 0.75, max: 0.95, min: 0.5 }',
  'cooldown: 10m',
  'scaleDown: { delay: 30m }',
  'limits:',
  '  maxParallelism: 64',
  '  vertices: { "cbc357ccb763df2852fee8c4fc7d55f2": { min: 2 } }',
  'schedules:',
  '  - name: business-hours',
  '    cron: "0 8 * * 1-5"',
  '    duration: 10h',
  '    floor: { "*": 4 }',
  '  - name: release-freeze',
  '    cron: "0 0 24 12 *"',
  '    duration: 2d',
  '    blackout: true',
  'jobs:',
  '  orders-enrichment: { scaleDown: { delay: 1h } }',
].join('\n');

export function policyDocs(): string {
  const schema = z.toJSONSchema(policySchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const out = [
    '# Scaling policy reference',
    '',
    '<!-- Generated from agent/scaling/policy-schema.ts by `node agent/scaling/policy-docs.ts`. Do not edit by hand. -->',
    '',
    'A policy is a YAML file given to the agent or to `flowpilot scale replay|simulate --policy FILE`.',
    'Every key is optional; unknown keys are errors, reported as `file:line:col`. Durations are seconds',
    'or Prometheus durations such as `"30s"`, `"5m"`, `"1h30m"`, `"1d"` (whole units, largest first, no',
    'fractions: `"90s"`, not `"1.5m"`). `jobs.<job id or name>` holds per-job overrides of any key below,',
    'merged over the file\'s top level.',
    '',
    '| key | type | default | description |',
    '|---|---|---|---|',
  ];
  rows(schema, '', out);
  const sched = ((schema.properties?.schedules as JsonSchema | undefined)?.items ?? {}) as JsonSchema;
  out.push('', '## schedules[]', '', '| key | type | default | description |', '|---|---|---|---|');
  rows(sched, 'schedules[]', out);
  out.push(
    '',
    '## Example',
    '',
    '```yaml',
    POLICY_EXAMPLE.trimEnd(),
    '```',
    '',
  );
  return out.join('\n');
}

export const policyDocsPath = join(import.meta.dirname, '..', '..', 'docs', 'reference', 'scaling-policy.md');

if (import.meta.main) {
  writeFileSync(policyDocsPath, policyDocs());
  process.stdout.write(`wrote ${policyDocsPath}\n`);
}
