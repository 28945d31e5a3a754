/**
 * Write-time validation in the fake API server. It covers what the real server would reject
 * and a careless client gets wrong: object names (DNS-1123 subdomain), MicroTime fields with
 * exactly 6 fractional digits (Lease acquire/renewTime, Event eventTime), the required fields
 * of an events.k8s.io/v1 Event, ConfigMap data values as strings, Scale replicas, and the
 * FlinkDeployment and FlinkSessionJob objects against the operator's real CRD schema (flink-crd.ts).
 * It is not the full OpenAPI validation of each type.
 */
import type { ResourceType } from './resources.ts';
import { flinkCrdErrors, type FlinkCrdKind } from './flink-crd.ts';

export interface Cause {
  field: string;
  message: string;
  reason: 'FieldValueInvalid' | 'FieldValueRequired' | 'FieldValueTooLong';
}

type Obj = Record<string, unknown>;

const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function get(obj: unknown, path: string[]): unknown {
  let cur: unknown = obj;
  for (const p of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Obj)[p];
  }
  return cur;
}

function checkMicroTime(obj: unknown, path: string[], required: boolean, causes: Cause[]): void {
  const v = get(obj, path);
  const field = path.join('.');
  if (v === undefined || v === null) {
    if (required) causes.push({ field, message: 'Required value', reason: 'FieldValueRequired' });
    return;
  }
  if (typeof v !== 'string' || !MICRO_TIME.test(v)) {
    const tail = typeof v === 'string' ? (v.match(/(\.\d*)?Z?$/)?.[0] ?? v) : String(v);
    causes.push({
      field,
      message: `Invalid value: ${JSON.stringify(v)}: parsing time as "2006-01-02T15:04:05.000000Z07:00": cannot parse "${tail}" as ".000000"`,
      reason: 'FieldValueInvalid',
    });
  }
}

function checkType(obj: unknown, path: string[], type: 'integer' | 'string' | 'object', causes: Cause[]): void {
  const v = get(obj, path);
  if (v === undefined || v === null) return;
  const ok = type === 'integer' ? Number.isInteger(v) : type === 'string' ? typeof v === 'string'
    : typeof v === 'object' && !Array.isArray(v);
  if (!ok) causes.push({ field: path.join('.'), message: `Invalid value: ${JSON.stringify(v)}: must be of type ${type}`, reason: 'FieldValueInvalid' });
}

function checkEnum(obj: unknown, path: string[], values: string[], causes: Cause[]): void {
  const v = get(obj, path);
  if (v === undefined || v === null) return;
  if (typeof v !== 'string' || !values.includes(v)) {
    causes.push({ field: path.join('.'), message: `Unsupported value: ${JSON.stringify(v)}: supported values: ${values.join(', ')}`, reason: 'FieldValueInvalid' });
  }
}

function checkRequiredString(obj: unknown, path: string[], maxLen: number, causes: Cause[]): void {
  const v = get(obj, path);
  const field = path.join('.');
  if (typeof v !== 'string' || v === '') causes.push({ field, message: 'Required value', reason: 'FieldValueRequired' });
  else if (v.length > maxLen) causes.push({ field, message: `Too long: may not be longer than ${maxLen}`, reason: 'FieldValueTooLong' });
}

/** Validates a full object about to be stored. Returns the causes of rejection (empty = valid). */
export function validateObject(type: ResourceType, obj: unknown): Cause[] {
  const causes: Cause[] = [];
  const name = get(obj, ['metadata', 'name']);
  if (typeof name !== 'string' || !DNS_SUBDOMAIN.test(name) || name.length > 253) {
    causes.push({ field: 'metadata.name', message: `Invalid value: ${JSON.stringify(name)}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`, reason: 'FieldValueInvalid' });
  }
  const key = `${type.group}/${type.resource}`;
  if (key === 'coordination.k8s.io/leases') {
    checkMicroTime(obj, ['spec', 'acquireTime'], false, causes);
    checkMicroTime(obj, ['spec', 'renewTime'], false, causes);
    checkType(obj, ['spec', 'leaseDurationSeconds'], 'integer', causes);
    checkType(obj, ['spec', 'leaseTransitions'], 'integer', causes);
    checkType(obj, ['spec', 'holderIdentity'], 'string', causes);
  } else if (key === 'events.k8s.io/events') {
    checkMicroTime(obj, ['eventTime'], true, causes);
    checkMicroTime(obj, ['series', 'lastObservedTime'], false, causes);
    checkRequiredString(obj, ['reportingController'], 253, causes);
    checkRequiredString(obj, ['reportingInstance'], 128, causes);
    checkRequiredString(obj, ['action'], 128, causes);
    checkRequiredString(obj, ['reason'], 128, causes);
    checkEnum(obj, ['type'], ['Normal', 'Warning'], causes);
    const note = get(obj, ['note']);
    if (typeof note === 'string' && Buffer.byteLength(note) > 1024) {
      causes.push({ field: 'note', message: 'Too long: may not be longer than 1024', reason: 'FieldValueTooLong' });
    }
  } else if (key === '/events') {
    checkMicroTime(obj, ['eventTime'], false, causes);
  } else if (key === '/configmaps') {
    const data = get(obj, ['data']);
    if (data !== undefined && data !== null) {
      for (const [k, v] of Object.entries(data as Obj)) {
        if (typeof v !== 'string') causes.push({ field: `data[${k}]`, message: 'Invalid value: must be a string', reason: 'FieldValueInvalid' });
      }
    }
  } else if (key === 'flink.apache.org/flinkdeployments' || key === 'flink.apache.org/flinksessionjobs') {
    // The operator's real CRD schema (../shared/flink-operator), as the API server applies it.
    for (const e of flinkCrdErrors(type.kind as FlinkCrdKind, obj, type.version)) {
      causes.push({ field: e.split(':')[0]!, message: `Invalid value: ${e}`, reason: 'FieldValueInvalid' });
    }
  } else if (type.scaleReplicasPath) {
    checkType(obj, type.scaleReplicasPath, 'integer', causes);
  }
  return causes;
}

/** Validates an autoscaling/v1 Scale body after patching. */
export function validateScale(scale: unknown): Cause[] {
  const causes: Cause[] = [];
  const r = get(scale, ['spec', 'replicas']);
  if (!Number.isInteger(r) || (r as number) < 0) {
    causes.push({ field: 'spec.replicas', message: `Invalid value: ${JSON.stringify(r)}: must be greater than or equal to 0`, reason: 'FieldValueInvalid' });
  }
  return causes;
}
