/**
 * Turns Flink's generated OpenAPI file (../shared/flink/rest_v1_dispatcher.yml) into ajv
 * validators for response bodies. OpenAPI 3.0 → JSON Schema: `nullable` becomes a `null`
 * type, `discriminator` is dropped (the `className` check is done by the tests), `oneOf` becomes
 * `anyOf` (the spec's alternatives have no required fields, so several always match), and
 * `$ref`s point into the same document. The few places where research/flink-api.md §1.4 says the
 * wire differs from the file are patched here, each named in WIRE_PATCHES; the tests assert
 * the wire shape there explicitly.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import YAML from 'yaml';

export const SPEC_PATH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../shared/flink/rest_v1_dispatcher.yml');

type Json = Record<string, unknown>;

/** §1.4 wire differences applied to the spec's component schemas before validation. */
export const WIRE_PATCHES: Array<{ why: string; apply: (schemas: Record<string, Json>) => void }> = [
  {
    why: '§1.4.5: slotSharingGroupId is a 32-hex string (SlotSharingGroupIDSerializer), not {bytes,lowerPart,upperPart}',
    apply: (s) => void (s.SlotSharingGroupId = { type: 'string', pattern: '^[0-9a-f]{32}$' }),
  },
  {
    why: '§1.4.6: a TaskManager id is a ResourceID string, not 32-hex',
    apply: (s) => void (s.ResourceID = { type: 'string' }),
  },
  {
    why: '§1.4.3: checkpoint config mode is written lower-case',
    apply: (s) => void (s.ProcessingMode = { type: 'string', enum: ['at_least_once', 'exactly_once'] }),
  },
  {
    why: '§1.4.8: latest.* checkpoint entries can be null; savepointFormat, failure_message and a restored external_path are null when absent (no NON_NULL)',
    apply: (s) => {
      for (const k of ['completed', 'failed', 'restored', 'savepoint']) nullable((s.LatestCheckpoints!.properties as Json)[k] as Json);
      nullable((s.CheckpointStatistics!.properties as Json).savepointFormat as Json);
      const failed = (s.FailedCheckpointStatistics!.allOf as Json[])[1]!;
      nullable((failed.properties as Json).failure_message as Json);
      nullable((s.RestoredCheckpointStatistics!.properties as Json).external_path as Json);
    },
  },
  {
    why: '§1.4.10: an in-progress async operation is written with "operation": null',
    apply: (s) => nullable(s.AsynchronousOperationResult!.properties as Json, 'operation'),
  },
  {
    why: 'JarEntryInfo.description is null unless the program describes itself (Jackson writes null)',
    apply: (s) => nullable((s.JarEntryInfo!.properties as Json).description as Json),
  },
];

function nullable(schema: Json, key?: string): void {
  const target = key === undefined ? schema : (schema[key] as Json);
  target.nullable = true;
}

function convert(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(convert);
  if (node === null || typeof node !== 'object') return node;
  const src = node as Json;
  const out: Json = {};
  for (const [k, v] of Object.entries(src)) {
    if (k === 'discriminator' || k === 'nullable' || k === 'format' || k === 'example') continue;
    if (k === '$ref' && typeof v === 'string') out.$ref = v.replace('#/components/schemas/', '#/$defs/');
    else if (k === 'oneOf') out.anyOf = convert(v);
    else out[k] = convert(v);
  }
  if (src.nullable === true) {
    if (typeof out.$ref === 'string') return { anyOf: [{ $ref: out.$ref }, { type: 'null' }] };
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
    else if (out.anyOf) out.anyOf = [...(out.anyOf as unknown[]), { type: 'null' }];
    else return { anyOf: [out, { type: 'null' }] };
  }
  return out;
}

export interface SpecValidators {
  paths: Record<string, Record<string, Json>>;
  /** The success status the spec documents for a method and path template ("/jobs/{jobid}"). */
  successStatus(method: string, template: string): number;
  /** Validator of the documented success body, or null when the spec documents none. */
  responseValidator(method: string, template: string): ValidateFunction | null;
  /** Validator of one component schema by name. */
  component(name: string): ValidateFunction;
}

export function loadSpec(): SpecValidators {
  const doc = YAML.parse(fs.readFileSync(SPEC_PATH, 'utf8')) as { paths: Record<string, Record<string, Json>>; components: { schemas: Record<string, Json> } };
  const schemas = structuredClone(doc.components.schemas);
  for (const p of WIRE_PATCHES) p.apply(schemas);
  const defs = convert(schemas) as Json;
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addSchema({ $id: 'flink', $defs: defs });
  const cache = new Map<string, ValidateFunction>();
  const compile = (schema: Json, key: string): ValidateFunction => {
    let v = cache.get(key);
    if (!v) {
      const converted = convert(schema) as Json;
      v = ajv.compile({ $id: `flink-${cache.size}`, ...rebase(converted) });
      cache.set(key, v);
    }
    return v;
  };
  const op = (method: string, template: string): Json => {
    const o = doc.paths[template]?.[method.toLowerCase()];
    if (!o) throw new Error(`the spec has no ${method} ${template}`);
    return o;
  };
  return {
    paths: doc.paths,
    successStatus(method, template) {
      const codes = Object.keys(op(method, template).responses as Json).map(Number).filter((c) => c >= 200 && c < 300);
      return codes[0]!;
    },
    responseValidator(method, template) {
      const responses = op(method, template).responses as Record<string, Json>;
      const success = Object.entries(responses).find(([c]) => c.startsWith('2'))?.[1];
      const schema = ((success?.content as Json | undefined)?.['application/json'] as Json | undefined)?.schema as Json | undefined;
      return schema ? compile(schema, `${method} ${template}`) : null;
    },
    component(name) {
      return compile({ $ref: `#/components/schemas/${name}` }, `component ${name}`);
    },
  };
}

/** Points `#/$defs/...` refs of a standalone schema at the shared `flink` document. */
function rebase(node: Json): Json {
  return JSON.parse(JSON.stringify(node).replaceAll('"#/$defs/', '"flink#/$defs/')) as Json;
}

export function formatErrors(v: ValidateFunction): string {
  return (v.errors ?? []).map((e) => `${e.instancePath || '<root>'} ${e.message ?? ''} ${JSON.stringify(e.params)}`).join('\n');
}

/** Flink's route pattern (":jobid") as the spec's template ("{jobid}"). */
export function toTemplate(pattern: string): string {
  return pattern.replace(/:([a-z]+)/g, '{$1}');
}
