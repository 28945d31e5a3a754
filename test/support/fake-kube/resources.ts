/**
 * The resource types the fake API server knows, keyed by (group, version, plural), and the
 * URL parser that turns a request path into (group, version, namespace, resource, name,
 * subresource). Only namespaced resources are served; anything else is a 404 NotFound.
 */

export interface ResourceType {
  group: string;
  version: string;
  resource: string;
  kind: string;
  /** Built-in types accept strategic merge patch; custom resources answer 415. */
  builtin: boolean;
  /** Dotted path of the replica count behind a `scale` subresource, if any. */
  scaleReplicasPath?: string[];
  /** Whether writes to the main resource bump metadata.generation when spec changes. */
  hasGeneration: boolean;
}

export const RESOURCE_TYPES: ResourceType[] = [
  { group: 'apps', version: 'v1', resource: 'deployments', kind: 'Deployment', builtin: true, scaleReplicasPath: ['spec', 'replicas'], hasGeneration: true },
  { group: 'apps', version: 'v1', resource: 'statefulsets', kind: 'StatefulSet', builtin: true, scaleReplicasPath: ['spec', 'replicas'], hasGeneration: true },
  { group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap', builtin: true, hasGeneration: false },
  { group: '', version: 'v1', resource: 'pods', kind: 'Pod', builtin: true, hasGeneration: false },
  { group: '', version: 'v1', resource: 'events', kind: 'Event', builtin: true, hasGeneration: false },
  { group: '', version: 'v1', resource: 'secrets', kind: 'Secret', builtin: true, hasGeneration: false },
  { group: '', version: 'v1', resource: 'services', kind: 'Service', builtin: true, hasGeneration: false },
  { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', kind: 'Lease', builtin: true, hasGeneration: false },
  { group: 'events.k8s.io', version: 'v1', resource: 'events', kind: 'Event', builtin: true, hasGeneration: false },
  {
    group: 'flink.apache.org', version: 'v1beta1', resource: 'flinkdeployments', kind: 'FlinkDeployment', builtin: false,
    scaleReplicasPath: ['spec', 'taskManager', 'replicas'], hasGeneration: true,
  },
  { group: 'flink.apache.org', version: 'v1beta1', resource: 'flinksessionjobs', kind: 'FlinkSessionJob', builtin: false, hasGeneration: true },
];

export function apiVersionOf(t: ResourceType): string {
  return t.group === '' ? t.version : `${t.group}/${t.version}`;
}

export interface ParsedPath {
  type: ResourceType;
  /** '' for a collection across all namespaces. */
  namespace: string;
  name?: string;
  subresource?: string;
}

/** Parses /api/v1/namespaces/NS/RES[/NAME[/SUB]] and /apis/G/V/namespaces/NS/RES[/NAME[/SUB]]. */
export function parseResourcePath(pathname: string): ParsedPath | { unknown: string } {
  const parts = pathname.split('/').filter((p) => p !== '').map(decodeURIComponent);
  let group: string;
  let rest: string[];
  if (parts[0] === 'api') {
    group = '';
    rest = parts.slice(1);
  } else if (parts[0] === 'apis') {
    group = parts[1] ?? '';
    rest = parts.slice(2);
  } else {
    return { unknown: pathname };
  }
  // A collection across all namespaces: /apis/G/V/RES (list and watch only; namespace '').
  if (rest.length === 2 && rest[1] !== 'namespaces') {
    const type = RESOURCE_TYPES.find((t) => t.group === group && t.version === rest[0] && t.resource === rest[1]);
    return type ? { type, namespace: '' } : { unknown: pathname };
  }
  const [version, nsWord, namespace, resource, name, subresource, ...extra] = rest;
  if (nsWord !== 'namespaces' || !namespace || !resource || extra.length > 0) return { unknown: pathname };
  const type = RESOURCE_TYPES.find((t) => t.group === group && t.version === version && t.resource === resource);
  if (!type) return { unknown: pathname };
  const out: ParsedPath = { type, namespace };
  if (name !== undefined) out.name = name;
  if (subresource !== undefined) out.subresource = subresource;
  return out;
}
