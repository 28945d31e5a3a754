/**
 * Validation of FlinkDeployment and FlinkSessionJob objects against the REAL CRDs of the Flink
 * Kubernetes Operator (`../shared/flink-operator/*.yml`, the operator chart's CRD files, read
 * in place and never copied): the `openAPIV3Schema` of the served version, compiled with ajv.
 * Kubernetes' own extensions (x-kubernetes-preserve-unknown-fields, x-kubernetes-int-or-string)
 * carry no extra rule for ajv; unknown fields are allowed, as the API server prunes rather than
 * rejects them. Used by the fake API server on every write and by the chart tests on every
 * rendered object. Compiled once per process, lazily (the FlinkDeployment CRD is ~600 kB of
 * YAML; the extracted schema is cached as JSON in the temp directory, keyed by size and mtime).
 */
import { existsSync, readFileSync, statSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { Ajv, type ValidateFunction } from 'ajv';

export const FLINK_CRD_DIR = join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'flink-operator');

const FILES = {
  FlinkDeployment: 'flinkdeployments.flink.apache.org-v1.yml',
  FlinkSessionJob: 'flinksessionjobs.flink.apache.org-v1.yml',
} as const;

export type FlinkCrdKind = keyof typeof FILES;

interface CrdVersion { name: string; served?: boolean; schema?: { openAPIV3Schema?: object } }

const compiled = new Map<string, ValidateFunction>();

function validatorFor(kind: FlinkCrdKind, version: string): ValidateFunction {
  const key = `${kind}/${version}`;
  const hit = compiled.get(key);
  if (hit) return hit;
  const file = join(FLINK_CRD_DIR, FILES[kind]);
  if (!existsSync(file)) throw new Error(`the operator's CRD is missing: ${file} (see ../shared/flink-operator/SOURCE.md)`);
  const fn = new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(shareRepeatedSubschemas(schemaOf(file, version) as Schema));
  compiled.set(key, fn);
  return fn;
}

function schemaOf(file: string, version: string): object {
  const st = statSync(file);
  const cache = join(tmpdir(), `flowpilot-crd-${st.size}-${Math.floor(st.mtimeMs)}-${version}-${file.split('/').pop()}.json`);
  if (existsSync(cache)) return JSON.parse(readFileSync(cache, 'utf8')) as object;
  const crd = parse(readFileSync(file, 'utf8')) as { spec: { versions: CrdVersion[] } };
  const v = crd.spec.versions.find((x) => x.name === version && x.served !== false);
  if (!v?.schema?.openAPIV3Schema) throw new Error(`${file} serves no version ${version}`);
  const tmp = `${cache}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(v.schema.openAPIV3Schema));
  renameSync(tmp, cache);
  return v.schema.openAPIV3Schema;
}

type Schema = Record<string, unknown>;

/**
 * The CRD repeats the whole Pod schema for spec.podTemplate, jobManager.podTemplate and
 * taskManager.podTemplate; ajv would compile each copy (~1.5 s of CPU). Repeated large
 * subschemas move to `$defs` and are referenced, which validates the same and compiles in
 * tens of ms. Only schema positions are rewritten (properties values, items,
 * additionalProperties, anyOf/allOf/oneOf members), never a `properties` map itself.
 */
export function shareRepeatedSubschemas(root: Schema, minChars = 5000): Schema {
  const seen = new Map<string, number>();
  const count = (sch: unknown): void => forEachSub(sch, (sub) => {
    const j = JSON.stringify(sub);
    if (j.length >= minChars) seen.set(j, (seen.get(j) ?? 0) + 1);
    count(sub);
  });
  count(root);
  const defs: Record<string, Schema> = {};
  const ids = new Map<string, string>();
  const rewrite = (sch: Schema): Schema => mapSubs(sch, (sub) => {
    const j = JSON.stringify(sub);
    if ((seen.get(j) ?? 0) < 2) return rewrite(sub);
    let id = ids.get(j);
    if (id === undefined) {
      id = `shared${ids.size}`;
      ids.set(j, id);
      defs[id] = rewrite(sub);
    }
    return { $ref: `#/$defs/${id}` };
  });
  const out = rewrite(root);
  return Object.keys(defs).length > 0 ? { ...out, $defs: defs } : out;
}

function isSchema(v: unknown): v is Schema {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function forEachSub(sch: unknown, fn: (sub: Schema) => void): void {
  if (!isSchema(sch)) return;
  mapSubs(sch, (sub) => {
    fn(sub);
    return sub;
  });
}

function mapSubs(sch: Schema, fn: (sub: Schema) => Schema): Schema {
  const out: Schema = { ...sch };
  if (isSchema(sch.properties)) out.properties = Object.fromEntries(Object.entries(sch.properties).map(([k, v]) => [k, isSchema(v) ? fn(v) : v]));
  for (const k of ['items', 'additionalProperties', 'not']) if (isSchema(sch[k])) out[k] = fn(sch[k] as Schema);
  for (const k of ['anyOf', 'allOf', 'oneOf']) if (Array.isArray(sch[k])) out[k] = (sch[k] as unknown[]).map((v) => (isSchema(v) ? fn(v) : v));
  return out;
}

/** Human-readable schema violations of `obj` (empty when valid). */
export function flinkCrdErrors(kind: FlinkCrdKind, obj: unknown, version = 'v1beta1'): string[] {
  const fn = validatorFor(kind, version);
  if (fn(obj)) return [];
  return (fn.errors ?? []).map((e) => `${e.instancePath.replace(/^\//, '').replace(/\//g, '.') || '(root)'}: ${e.message ?? 'invalid'}${e.params && 'allowedValues' in e.params ? ` (${(e.params.allowedValues as unknown[]).join(', ')})` : ''}`);
}

export function isFlinkCrdKind(kind: string): kind is FlinkCrdKind {
  return kind in FILES;
}
