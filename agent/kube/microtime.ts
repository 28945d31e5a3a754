/**
 * Kubernetes MicroTime: RFC 3339 with exactly six fractional digits
 * ("2026-11-21T05:43:08.123000Z"). The API server rejects a plain JS Date's three digits in
 * Lease acquireTime/renewTime and events.k8s.io eventTime; client-node's V1MicroTime
 * serialises correctly. Responses come back as strings and are parsed here.
 */
import type { V1MicroTime } from '@kubernetes/client-node';
import { kubeLib } from './lib.ts';

export function microTime(ms: number): V1MicroTime {
  return new (kubeLib().V1MicroTime)(ms);
}

/** The wire form, for places that hold the value as a string. */
export function formatMicroTime(ms: number): string {
  return microTime(ms).toISOString();
}

/** Epoch ms of a MicroTime read back from the API (string or Date), or null. */
export function parseMicroTime(v: unknown): number | null {
  if (v instanceof Date) return v.getTime();
  if (typeof v !== 'string') return null;
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : t;
}
