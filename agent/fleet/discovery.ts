/**
 * Fleet discovery: informers (client-node ListWatch: list, then watch from its resourceVersion,
 * re-list on 410 Gone) over FlinkDeployments and FlinkSessionJobs in the given namespaces (or
 * all), turned into start/update/stop of managed jobs.
 *
 * - Opt-in: the annotation or label `flowpilot.io/autoscale: "true"`. Anything else opts out.
 * - Policy reference: the annotation `flowpilot.io/policy` names a ConfigMap; the resource's
 *   `spec.flinkConfiguration` `job.autoscaler.*` keys are mapped by agent/scaling/operator-keys.ts.
 * - REST endpoint, as the operator names its Service: `<name>-rest.<ns>.svc:<rest.port|8081>`
 *   for a FlinkDeployment; for a FlinkSessionJob the session cluster's (spec.deploymentName).
 *   The annotation `flowpilot.io/rest-url` overrides it.
 * - Resync: every `resyncMs` the cached objects are evaluated again (a lost or misordered
 *   event cannot leave a job started or stopped wrongly for longer than that).
 * - An informer that fails (403, connection refused) is restarted after `retryMs`; one whose
 *   watch gets 410 re-lists by itself, and the re-list reports what changed in between.
 */
import * as k8s from '@kubernetes/client-node';
import { operatorPolicyFragment } from '../scaling/operator-keys.ts';

export const AUTOSCALE_KEY = 'flowpilot.io/autoscale';
export const POLICY_KEY = 'flowpilot.io/policy';
/** Overrides the REST endpoint found from the Service name (an agent outside the cluster, a port-forward, a test). */
export const REST_URL_KEY = 'flowpilot.io/rest-url';
const GROUP = 'flink.apache.org';
const VERSION = 'v1beta1';

export type FlinkKind = 'FlinkDeployment' | 'FlinkSessionJob';

export interface ManagedJob {
  uid: string;
  kind: FlinkKind;
  namespace: string;
  name: string;
  /** the JobManager REST base URL */
  restUrl: string;
  /** the ConfigMap named by flowpilot.io/policy, if any */
  policyConfigMap: string | null;
  /** the raw partial policy from the resource's job.autoscaler.* keys */
  operatorPolicy: Record<string, unknown>;
  /** status.jobStatus.jobId (a session job's job among its cluster's), when the operator has set it */
  jobId?: string | null;
  /** the resource's metadata.resourceVersion when this was derived */
  resourceVersion: string;
}

/** `deleted`: a stop because the resource itself is gone (its state ConfigMap goes too), not an opt-out. */
export type FleetEvent = { type: 'start' | 'update' | 'stop'; job: ManagedJob; deleted?: boolean };

export interface FleetDiscoveryOptions {
  kubeConfig: k8s.KubeConfig;
  /** namespaces to watch; empty = all namespaces */
  namespaces: string[];
  onEvent: (ev: FleetEvent) => void;
  resyncMs?: number;
  retryMs?: number;
  onError?: (err: unknown) => void;
}

type Obj = k8s.KubernetesObject & { spec?: Record<string, unknown>; status?: { jobStatus?: { jobId?: string } } };

const PLURAL: Record<FlinkKind, string> = { FlinkDeployment: 'flinkdeployments', FlinkSessionJob: 'flinksessionjobs' };

function truthy(v: string | undefined): boolean {
  return v !== undefined && v.trim().toLowerCase() === 'true';
}

export function optedIn(o: k8s.KubernetesObject): boolean {
  return truthy(o.metadata?.annotations?.[AUTOSCALE_KEY]) || truthy(o.metadata?.labels?.[AUTOSCALE_KEY]);
}

function restPort(conf: unknown): number {
  const p = typeof conf === 'object' && conf !== null ? Number((conf as Record<string, unknown>)['rest.port']) : NaN;
  return Number.isInteger(p) && p > 0 ? p : 8081;
}

export class FleetDiscovery {
  private readonly o: FleetDiscoveryOptions;
  private readonly informers = new Map<string, { kind: FlinkKind; ns: string; inf: k8s.Informer<Obj> & k8s.ObjectCache<Obj> }>();
  /** uid -> the job as last announced */
  private readonly managed = new Map<string, { job: ManagedJob; key: string }>();
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;
  private listed = false;
  /** Aborted by stop(): pending reconnect delays never resume. */
  private stopping = new AbortController();

  constructor(o: FleetDiscoveryOptions) {
    this.o = o;
    const api = o.kubeConfig.makeApiClient(k8s.CustomObjectsApi);
    const nss = o.namespaces.length === 0 ? [''] : o.namespaces;
    for (const kind of ['FlinkDeployment', 'FlinkSessionJob'] as const) {
      for (const ns of nss) {
        const plural = PLURAL[kind];
        const path = ns === '' ? `/apis/${GROUP}/${VERSION}/${plural}` : `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${plural}`;
        const listFn = async (): Promise<k8s.KubernetesListObject<Obj>> => (ns === ''
          ? await api.listClusterCustomObject({ group: GROUP, version: VERSION, plural })
          : await api.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural })) as k8s.KubernetesListObject<Obj>;
        // ListWatch (makeInformer's) with a reconnect delay that stop() cancels: the informer waits
        // 1 s, 2 s, ... up to 30 s before each re-watch, and a stop() during that wait used to keep
        // the process alive (a timer) until it ran out, then opened a watch nobody would abort.
        // A watch whose request was still being opened when stop() came is aborted once open.
        const discovery = this;
        const watch = new (class extends k8s.Watch {
          override async watch(...args: Parameters<k8s.Watch['watch']>): Promise<AbortController> {
            const c = await super.watch(...args);
            if (discovery.stopped) c.abort();
            return c;
          }
        })(o.kubeConfig);
        const inf = new k8s.ListWatch<Obj>(path, watch, async () => {
          const list = await listFn();
          if (this.stopped) throw new Error('fleet discovery stopped');
          return list;
        }, false, undefined, undefined, { delayFn: (ms) => this.reconnectDelay(ms) });
        inf.on('add', (obj) => this.evaluate(kind, obj));
        inf.on('update', (obj) => this.evaluate(kind, obj));
        inf.on('delete', (obj) => this.gone(obj));
        inf.on('error', (err) => {
          this.o.onError?.(err);
          if (!this.stopped) this.timers.push(setTimeout(() => void inf.start().catch((e: unknown) => this.o.onError?.(e)), o.retryMs ?? 1000));
        });
        this.informers.set(`${kind}/${ns}`, { kind, ns, inf });
      }
    }
  }

  async start(): Promise<void> {
    this.stopped = false;
    if (this.stopping.signal.aborted) this.stopping = new AbortController();
    await Promise.all([...this.informers.values()].map((i) => i.inf.start()));
    this.listed = true;
    const resync = setInterval(() => this.resync(), this.o.resyncMs ?? 60_000);
    resync.unref();
    this.timers.push(resync);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.listed = false;
    this.stopping.abort();
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    await Promise.all([...this.informers.values()].map((i) => i.inf.stop()));
  }

  /**
   * An informer's wait before it re-watches. Once stopped it never resolves (the informer's
   * restart is dropped, not run against a stopped discovery) and holds no timer.
   */
  private reconnectDelay(ms: number): Promise<void> {
    const signal = this.stopping.signal;
    if (signal.aborted) return new Promise<void>(() => undefined);
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = (): void => clearTimeout(timer);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** UIDs of every watched resource, opted in or not; null until the watches have listed (start()). */
  knownUids(): Set<string> | null {
    if (!this.listed) return null;
    const uids = new Set<string>();
    for (const { inf } of this.informers.values()) for (const obj of inf.list()) if (obj.metadata?.uid) uids.add(obj.metadata.uid);
    return uids;
  }

  /** The jobs currently managed (announced by start/update and not stopped). */
  jobs(): ManagedJob[] {
    return [...this.managed.values()].map((m) => m.job);
  }

  /** Evaluates every cached object again and stops jobs whose object is no longer cached. */
  resync(): void {
    const seen = new Set<string>();
    for (const { kind, inf } of this.informers.values()) {
      for (const obj of inf.list()) {
        if (obj.metadata?.uid) seen.add(obj.metadata.uid);
        this.evaluate(kind, obj);
      }
    }
    for (const [uid, m] of [...this.managed]) {
      if (!seen.has(uid)) {
        this.managed.delete(uid);
        this.o.onEvent({ type: 'stop', job: m.job, deleted: true });
      }
    }
  }

  private evaluate(kind: FlinkKind, obj: Obj): void {
    this.evaluateOne(kind, obj);
    // A session job's endpoint comes from its session cluster: when that FlinkDeployment appears or
    // changes (it may be cached after the job), the session jobs that name it are evaluated again.
    if (kind !== 'FlinkDeployment') return;
    const ns = obj.metadata?.namespace ?? '';
    for (const m of [...this.managed.values()]) {
      if (m.job.kind !== 'FlinkSessionJob' || m.job.namespace !== ns) continue;
      const sj = this.informers.get(`FlinkSessionJob/${ns}`)?.inf.get(m.job.name, ns) ?? this.informers.get('FlinkSessionJob/')?.inf.get(m.job.name, ns);
      if (sj && sj.spec?.deploymentName === obj.metadata?.name) this.evaluateOne('FlinkSessionJob', sj);
    }
  }

  private evaluateOne(kind: FlinkKind, obj: Obj): void {
    const uid = obj.metadata?.uid;
    if (!uid) return;
    const prev = this.managed.get(uid);
    if (!optedIn(obj)) {
      if (prev) {
        this.managed.delete(uid);
        this.o.onEvent({ type: 'stop', job: prev.job });
      }
      return;
    }
    const job = this.jobOf(kind, obj, uid);
    const key = JSON.stringify([job.restUrl, job.policyConfigMap, job.operatorPolicy]);
    if (!prev) {
      this.managed.set(uid, { job, key });
      this.o.onEvent({ type: 'start', job });
    } else if (prev.key !== key) {
      this.managed.set(uid, { job, key });
      this.o.onEvent({ type: 'update', job });
    } else {
      prev.job = job;
    }
  }

  private gone(obj: Obj): void {
    const uid = obj.metadata?.uid;
    const prev = uid === undefined ? undefined : this.managed.get(uid);
    if (uid !== undefined && prev) {
      this.managed.delete(uid);
      this.o.onEvent({ type: 'stop', job: prev.job, deleted: true });
    }
  }

  private jobOf(kind: FlinkKind, obj: Obj, uid: string): ManagedJob {
    const ns = obj.metadata?.namespace ?? '';
    const name = obj.metadata?.name ?? '';
    const spec = obj.spec ?? {};
    const conf = (typeof spec.flinkConfiguration === 'object' && spec.flinkConfiguration !== null ? spec.flinkConfiguration : {}) as Record<string, unknown>;
    let cluster = name;
    let port = restPort(conf);
    if (kind === 'FlinkSessionJob') {
      cluster = typeof spec.deploymentName === 'string' ? spec.deploymentName : '';
      const session = this.informers.get(`FlinkDeployment/${ns}`)?.inf.get(cluster, ns) ?? this.informers.get('FlinkDeployment/')?.inf.get(cluster, ns);
      port = restPort(session?.spec?.flinkConfiguration);
    }
    return {
      uid, kind, namespace: ns, name,
      restUrl: obj.metadata?.annotations?.[REST_URL_KEY] ?? `http://${cluster}-rest.${ns}.svc:${port}`,
      policyConfigMap: obj.metadata?.annotations?.[POLICY_KEY] ?? null,
      operatorPolicy: operatorPolicyFragment(conf).policy,
      jobId: obj.status?.jobStatus?.jobId ?? null,
      resourceVersion: obj.metadata?.resourceVersion ?? '',
    };
  }
}
