/**
 * The fake API server's object store: one map per (group, resource), keyed by namespace/name,
 * with a cluster-wide resourceVersion counter bumped on every write, uid/creationTimestamp on
 * create and metadata.generation bumped when `spec` changes. It also plays the controllers the
 * tests rely on: a Deployment's or StatefulSet's status.replicas follows spec.replicas at once.
 * Every write is also kept in a bounded event history (the watch cache): a watch from a
 * resourceVersion replays what followed it, and a version older than the history is "too old"
 * (410 Gone), as etcd compaction makes it on a real cluster.
 */
import { randomUUID } from 'node:crypto';
import { apiVersionOf, type ResourceType } from './resources.ts';
import type { Json } from './patch.ts';

export type KubeObject = Record<string, Json> & { metadata: Record<string, Json> };

export type WatchEvent = { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: KubeObject };
type Listener = (t: ResourceType, ns: string, ev: WatchEvent) => void;

export interface HistoryEntry {
  rv: number;
  t: ResourceType;
  ns: string;
  ev: WatchEvent;
}

/** How many events the watch history keeps by default before compacting the oldest. */
export const DEFAULT_HISTORY_LIMIT = 10_000;

export class ObjectStore {
  private rv = 1000;
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private readonly listeners = new Set<Listener>();
  private readonly history: HistoryEntry[] = [];
  /** Every event with a resourceVersion above this one is still in the history. */
  private compactedRv = 1000;
  historyLimit = DEFAULT_HISTORY_LIMIT;

  private bucket(t: ResourceType): Map<string, KubeObject> {
    const key = `${t.group}/${t.resource}`;
    let b = this.objects.get(key);
    if (!b) {
      b = new Map();
      this.objects.set(key, b);
    }
    return b;
  }

  currentResourceVersion(): string {
    return String(this.rv);
  }

  get(t: ResourceType, ns: string, name: string): KubeObject | undefined {
    const o = this.bucket(t).get(`${ns}/${name}`);
    return o === undefined ? undefined : structuredClone(o);
  }

  /** The objects of one namespace, or of all namespaces when `ns` is ''. */
  list(t: ResourceType, ns: string): KubeObject[] {
    return [...this.bucket(t).entries()]
      .filter(([k]) => ns === '' || k.startsWith(`${ns}/`))
      .map(([, o]) => structuredClone(o));
  }

  onChange(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** The oldest resourceVersion a watch may still start from; older ones are 410 Gone. */
  oldestWatchableResourceVersion(): number {
    return this.compactedRv;
  }

  /**
   * The events after resourceVersion `after`, for a watch starting there, or 'gone' when some of
   * them were compacted away (the real server's "too old resource version").
   */
  eventsAfter(after: number): HistoryEntry[] | 'gone' {
    if (after < this.compactedRv) return 'gone';
    return this.history.filter((h) => h.rv > after).map((h) => ({ ...h, ev: structuredClone(h.ev) }));
  }

  /** Drops the whole event history, as an etcd compaction at the current revision does. */
  compact(): void {
    this.history.length = 0;
    this.compactedRv = this.rv;
  }

  private emit(t: ResourceType, ns: string, ev: WatchEvent): void {
    this.history.push({ rv: this.rv, t, ns, ev: structuredClone(ev) });
    while (this.history.length > this.historyLimit) this.compactedRv = this.history.shift()!.rv;
    for (const l of this.listeners) l(t, ns, structuredClone(ev));
  }

  private stamp(t: ResourceType, ns: string, obj: KubeObject, prev: KubeObject | undefined): KubeObject {
    const out = structuredClone(obj);
    out.apiVersion = apiVersionOf(t);
    out.kind = t.kind;
    const md = out.metadata;
    md.namespace = ns;
    md.resourceVersion = String(++this.rv);
    if (prev) {
      md.uid = prev.metadata.uid ?? null;
      md.creationTimestamp = prev.metadata.creationTimestamp ?? null;
      if (t.hasGeneration) {
        const prevGen = typeof prev.metadata.generation === 'number' ? prev.metadata.generation : 1;
        md.generation = JSON.stringify(prev.spec ?? null) === JSON.stringify(out.spec ?? null) ? prevGen : prevGen + 1;
      }
    } else {
      md.uid = randomUUID();
      md.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      if (t.hasGeneration) md.generation = 1;
    }
    if ((t.resource === 'deployments' || t.resource === 'statefulsets') && t.group === 'apps') {
      const spec = (out.spec ?? {}) as Record<string, Json>;
      const replicas = typeof spec.replicas === 'number' ? spec.replicas : 1;
      out.status = { ...((out.status ?? {}) as Record<string, Json>), replicas, readyReplicas: replicas, observedGeneration: md.generation ?? 1 };
    }
    return out;
  }

  /** Stores a new object; the caller has checked that it does not exist. */
  create(t: ResourceType, ns: string, obj: KubeObject): KubeObject {
    const stored = this.stamp(t, ns, obj, undefined);
    this.bucket(t).set(`${ns}/${String(stored.metadata.name)}`, stored);
    this.emit(t, ns, { type: 'ADDED', object: stored });
    return structuredClone(stored);
  }

  /** Replaces an existing object; the caller has done the resourceVersion check. */
  replace(t: ResourceType, ns: string, obj: KubeObject): KubeObject {
    const name = String(obj.metadata.name);
    const prev = this.bucket(t).get(`${ns}/${name}`);
    const stored = this.stamp(t, ns, obj, prev);
    this.bucket(t).set(`${ns}/${name}`, stored);
    this.emit(t, ns, { type: prev ? 'MODIFIED' : 'ADDED', object: stored });
    return structuredClone(stored);
  }

  delete(t: ResourceType, ns: string, name: string): KubeObject | undefined {
    const key = `${ns}/${name}`;
    const prev = this.bucket(t).get(key);
    if (!prev) return undefined;
    this.bucket(t).delete(key);
    prev.metadata.resourceVersion = String(++this.rv);
    this.emit(t, ns, { type: 'DELETED', object: prev });
    return structuredClone(prev);
  }
}
