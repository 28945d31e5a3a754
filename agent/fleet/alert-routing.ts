/**
 * Which firing alerts reach which managed job. Rules are evaluated once over every job's series
 * (one rule manager, one store); the REST collector's series of a fleet job carry the target
 * labels `namespace` and `resource_name`, so an alert aggregated `by (namespace, resource_name)`
 * names its job. An alert is routed:
 * - with both labels: to that job only;
 * - with `namespace` only: to every job of that namespace;
 * - with neither: to every job (decide() then narrows it by job_id / job_name, as in single-job mode).
 * Pure; the manager hands each pipeline its share.
 */
import type { FiringAlert } from '../scaling/decide.ts';

export const NAMESPACE_LABEL = 'namespace';
export const RESOURCE_LABEL = 'resource_name';

export function alertConcernsResource(a: FiringAlert, namespace: string, name: string): boolean {
  const ns = a.labels[NAMESPACE_LABEL];
  const res = a.labels[RESOURCE_LABEL];
  if (ns !== undefined && ns !== '' && ns !== namespace) return false;
  if (res !== undefined && res !== '' && res !== name) return false;
  return true;
}

export function alertsForResource(alerts: readonly FiringAlert[], namespace: string, name: string): FiringAlert[] {
  return alerts.filter((a) => alertConcernsResource(a, namespace, name));
}
