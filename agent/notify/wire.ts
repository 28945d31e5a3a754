/**
 * Wire formats: Alertmanager API v2 `postableAlerts` bodies and the generic webhook body
 * (the shape of Alertmanager's own webhook, version "4"), with timestamps printed as Go
 * prints time.Time in JSON (RFC 3339, trailing fractional zeros trimmed, UTC "Z").
 */
import type { NotifierAlert } from '../rules/types.ts';

/** RFC 3339 with nanosecond precision trimmed, as Go's time.Time MarshalJSON prints UTC times. */
export function rfc3339(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2026-11-21T05:20:17.593Z
  return iso.replace(/\.(\d*?)0*Z$/, (_m, frac: string) => (frac === '' ? 'Z' : `.${frac}Z`));
}

export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
}

export function toPostable(a: NotifierAlert): PostableAlert {
  return {
    labels: { ...a.labels },
    annotations: { ...a.annotations },
    startsAt: rfc3339(a.startsAt),
    endsAt: rfc3339(a.endsAt),
    generatorURL: a.generatorURL,
  };
}

export interface WebhookBody {
  version: '4';
  receiver: string;
  status: 'firing' | 'resolved';
  alerts: Array<PostableAlert & { status: 'firing' | 'resolved' }>;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
}

function common(maps: Array<Record<string, string>>): Record<string, string> {
  if (maps.length === 0) return {};
  const out: Record<string, string> = { ...maps[0] };
  for (const m of maps.slice(1)) for (const k of Object.keys(out)) if (m[k] !== out[k]) delete out[k];
  return out;
}

/** A webhook body for a batch; an alert is resolved when its endsAt is not in the future. */
export function toWebhookBody(alerts: NotifierAlert[], nowMs: number, receiver: string, externalURL: string): WebhookBody {
  const items = alerts.map((a) => ({ ...toPostable(a), status: (a.endsAt <= nowMs ? 'resolved' : 'firing') as 'firing' | 'resolved' }));
  return {
    version: '4',
    receiver,
    status: items.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
    alerts: items,
    groupLabels: {},
    commonLabels: common(items.map((a) => a.labels)),
    commonAnnotations: common(items.map((a) => a.annotations)),
    externalURL,
  };
}
