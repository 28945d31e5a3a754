/**
 * Patch semantics of the fake API server: JSON merge patch (RFC 7386), a JSON Patch
 * (RFC 6902) implementation of add/remove/replace/test, and a "strategic merge" that is
 * plain merge patch (the fake has no per-field merge keys; lists are replaced). A failed
 * JSON Patch operation throws PatchError, which the server answers as 422.
 */

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export class PatchError extends Error {}

function isObject(v: unknown): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** RFC 7386: objects merge recursively, null deletes, everything else replaces. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, Json> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k] ?? null, v);
  }
  return out;
}

function decodePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchError(`invalid JSON pointer "${pointer}"`);
  return pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc: Json, tokens: string[], path: string): Json[] | Record<string, Json> {
  let cur: Json = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(t)] ?? null;
    else if (isObject(cur)) cur = cur[t] ?? null;
    else cur = null;
    if (cur === null) throw new PatchError(`doc is missing path: "${path}": missing value`);
  }
  if (!Array.isArray(cur) && !isObject(cur)) throw new PatchError(`doc is missing path: "${path}"`);
  return cur;
}

interface JsonPatchOp {
  op: string;
  path: string;
  value?: Json;
}

/** RFC 6902 subset: add, remove, replace, test. Works on a clone; the input is never changed. */
export function jsonPatch(doc: Json, ops: unknown): Json {
  if (!Array.isArray(ops)) throw new PatchError('a JSON Patch body must be an array of operations');
  const out = structuredClone(doc);
  for (const raw of ops as JsonPatchOp[]) {
    if (!isObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw new PatchError('each JSON Patch operation needs "op" and "path"');
    }
    const tokens = decodePointer(raw.path);
    if (tokens.length === 0) throw new PatchError('patching the document root is not supported');
    const parent = parentOf(out, tokens, raw.path);
    const last = tokens[tokens.length - 1]!;
    if (raw.op === 'test') {
      const cur = Array.isArray(parent) ? parent[Number(last)] : parent[last];
      if (JSON.stringify(cur) !== JSON.stringify(raw.value)) throw new PatchError(`testing value ${raw.path} failed`);
      continue;
    }
    if (Array.isArray(parent)) {
      const idx = last === '-' ? parent.length : Number(last);
      if (raw.op === 'add') parent.splice(idx, 0, structuredClone(raw.value ?? null));
      else if (raw.op === 'remove') parent.splice(idx, 1);
      else if (raw.op === 'replace') parent[idx] = structuredClone(raw.value ?? null);
      else throw new PatchError(`unsupported JSON Patch op "${raw.op}"`);
      continue;
    }
    if ((raw.op === 'remove' || raw.op === 'replace') && !(last in parent)) {
      throw new PatchError(`doc is missing key: ${raw.path}`);
    }
    if (raw.op === 'add' || raw.op === 'replace') parent[last] = structuredClone(raw.value ?? null);
    else if (raw.op === 'remove') delete parent[last];
    else throw new PatchError(`unsupported JSON Patch op "${raw.op}"`);
  }
  return out;
}
