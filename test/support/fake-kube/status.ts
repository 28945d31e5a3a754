/**
 * Kubernetes `Status` bodies for the fake API server's failures, with the reasons and
 * message shapes the real server uses, plus a tiny equality-based label selector matcher.
 */
import type { ResourceType } from './resources.ts';
import type { Cause } from './validate.ts';

export class KubeStatusError extends Error {
  readonly code: number;
  readonly body: Record<string, unknown>;
  constructor(code: number, reason: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.code = code;
    this.body = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code };
  }
}

export function qualified(t: ResourceType): string {
  return t.group === '' ? t.resource : `${t.resource}.${t.group}`;
}

export function notFound(t: ResourceType, name: string): KubeStatusError {
  return new KubeStatusError(404, 'NotFound', `${qualified(t)} "${name}" not found`, { name, group: t.group, kind: t.resource });
}

export function alreadyExists(t: ResourceType, name: string): KubeStatusError {
  return new KubeStatusError(409, 'AlreadyExists', `${qualified(t)} "${name}" already exists`, { name, group: t.group, kind: t.resource });
}

export function conflict(t: ResourceType, name: string): KubeStatusError {
  return new KubeStatusError(409, 'Conflict',
    `Operation cannot be fulfilled on ${qualified(t)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    { name, group: t.group, kind: t.resource });
}

export function invalid(t: ResourceType, name: string, causes: Cause[]): KubeStatusError {
  const kind = t.group === '' ? t.kind : `${t.kind}.${t.group}`;
  const text = causes.map((c) => `${c.field}: ${c.message}`).join(', ');
  return new KubeStatusError(422, 'Invalid', `${kind} "${name}" is invalid: ${text}`, { name, group: t.group, kind: t.kind, causes });
}

export function unsupportedMediaType(contentType: string, accepted: string[]): KubeStatusError {
  return new KubeStatusError(415, 'UnsupportedMediaType',
    `the body of the request was in an unknown format (${contentType || 'none'}) - accepted media types include: ${accepted.join(', ')}`);
}

/** Equality-based selectors: `a=b`, `a==b`, `a!=b`, `a` (exists), `!a` (absent). */
export function labelsMatch(selector: string | null, labels: Record<string, unknown> | undefined): boolean {
  if (!selector) return true;
  const l = labels ?? {};
  for (const term of selector.split(',').map((s) => s.trim()).filter(Boolean)) {
    let m: RegExpMatchArray | null;
    if ((m = term.match(/^([^!=]+)!=(.*)$/))) {
      if (l[m[1]!.trim()] === m[2]!.trim()) return false;
    } else if ((m = term.match(/^([^!=]+)==?(.*)$/))) {
      if (l[m[1]!.trim()] !== m[2]!.trim()) return false;
    } else if (term.startsWith('!')) {
      if (term.slice(1) in l) return false;
    } else if (!(term in l)) {
      return false;
    }
  }
  return true;
}
