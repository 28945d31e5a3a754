/**
 * One events.k8s.io/v1 Event per scaling decision, attached (`regarding`) to the object the
 * decision is about (a FlinkDeployment, a Deployment, the agent's own pod). eventTime is a
 * MicroTime with 6 fractional digits; the note is cut to the API's 1 KiB limit. Recording
 * is best effort for the caller: errors come back as FlowpilotError (e.g. FP_KUBE_FORBIDDEN).
 */
import { randomBytes } from 'node:crypto';
import type { EventsV1Event, V1ObjectReference } from '@kubernetes/client-node';
import { kubeCall, type KubeClients } from './client.ts';
import { microTime } from './microtime.ts';

export interface DecisionEvent {
  regarding: V1ObjectReference & { kind: string; name: string };
  /** CamelCase machine reason, e.g. "ScalingReport", "RescaleSucceeded", "RescaleFailed". */
  reason: string;
  /** What was done or would be done, e.g. "Rescale", "Recommend", "Savepoint". */
  action: string;
  note: string;
  type?: 'Normal' | 'Warning';
}

export interface EventRecorderOptions {
  clients: KubeClients;
  namespace?: string;
  reportingController?: string;
  reportingInstance: string;
  clock?: () => number;
}

const NOTE_LIMIT = 1024;

function truncateUtf8(s: string, limit: number): string {
  if (Buffer.byteLength(s) <= limit) return s;
  let out = s;
  while (Buffer.byteLength(out) > limit - 3) out = out.slice(0, -1);
  return `${out}...`;
}

export class KubeEventRecorder {
  private readonly o: EventRecorderOptions;
  private readonly namespace: string;

  constructor(o: EventRecorderOptions) {
    this.o = o;
    this.namespace = o.namespace ?? o.clients.namespace;
  }

  /** The Event body for a decision; exported for tests and for dry runs that only log it. */
  build(ev: DecisionEvent): EventsV1Event {
    const now = (this.o.clock ?? Date.now)();
    const base = ev.regarding.name.toLowerCase().replace(/[^a-z0-9.-]/g, '-').slice(0, 200);
    return {
      apiVersion: 'events.k8s.io/v1', kind: 'Event',
      metadata: { name: `${base}.${randomBytes(8).toString('hex')}`, namespace: this.namespace },
      eventTime: microTime(now),
      reportingController: this.o.reportingController ?? 'flowpilot.io/autoscaler',
      reportingInstance: this.o.reportingInstance,
      action: ev.action,
      reason: ev.reason,
      note: truncateUtf8(ev.note, NOTE_LIMIT),
      type: ev.type ?? 'Normal',
      regarding: { namespace: this.namespace, ...ev.regarding },
    };
  }

  async record(ev: DecisionEvent): Promise<EventsV1Event> {
    const c = this.o.clients;
    const body = this.build(ev);
    return kubeCall(c, `create event ${body.metadata?.name} in ${this.namespace}`,
      () => c.events.createNamespacedEvent({ namespace: this.namespace, body }));
  }
}
