/**
 * A MODEL, for tests, of the Flink Kubernetes Operator reconciling FlinkDeployments and
 * FlinkSessionJobs in the fake API server — NOT the operator. It implements only the path a
 * rescale takes, with the operator's rules (each cites its class; docs/design/operator-rules.md):
 * - First sight: the resource is deployed; status gets a RUNNING job, reconciliation DEPLOYED,
 *   lifecycle STABLE, and lastReconciledSpec `{spec, resource_metadata}` (ReconciliationUtils,
 *   SpecUtils.writeSpecWithMeta). STANDALONE: a `<name>-taskmanager` Deployment appears.
 * - A spec change is classified by flink-operator-diff.ts. Unless it is UPGRADE, the operator
 *   first tries to scale (AbstractFlinkResourceReconciler.reconcile → scale):
 *   NATIVE (NativeFlinkService.scale): needs a job, `kubernetes.operator.job.upgrade.
 *   inplace-scaling.enabled` not false, flinkVersion ≥ v1_18, `jobmanager.scheduler: adaptive`,
 *   a job that is not terminal or RECONCILING, overrides before or after, and no override
 *   removed; it PUTs /jobs/:id/resource-requirements with lower = upper = the override.
 *   STANDALONE (StandaloneFlinkService.scale): needs `scheduler-mode: reactive` and the
 *   TaskManager Deployment; it sets that Deployment's replicas.
 *   A triggered scale sets reconciliation UPGRADING (ReconciliationUtils.updateAfterScaleUp)
 *   until the job runs at the overrides (NativeFlinkService.scalingCompleted; STANDALONE:
 *   at once), then DEPLOYED. The job is never stopped.
 * - Otherwise (UPGRADE, or a scale that CANNOT_SCALE) the job is upgraded
 *   (AbstractJobReconciler.reconcileSpecChange): stopped per upgradeMode, the cluster
 *   redeployed (jobStatus RECONCILING), the job submitted again (a new startTime), DEPLOYED,
 *   then STABLE. MODELLING SHORTCUT: with a Flink backend the job is not really stopped and
 *   resubmitted; its new parallelism is applied through resource-requirements at the
 *   "resubmission" step, so the backend ends where a resubmitted job would.
 * Without a Flink backend the model keeps a virtual job (parallelism per vertex). Every
 * reconcile is appended to `records`, with the diff and its rules, for tests to assert on.
 */
import { randomBytes } from 'node:crypto';
import type { FakeKubeApiServer } from './server.ts';
import type { KubeObject } from './store.ts';
import type { ResourceType } from './resources.ts';
import { diffSpecs, flatConf, type Mode, type SpecDiffResult } from './flink-operator-diff.ts';
import { flinkCrdErrors, type FlinkCrdKind } from './flink-crd.ts';

const OVERRIDES = 'pipeline.jobvertex-parallelism-overrides';
type Obj = Record<string, unknown>;

export interface FlinkBackend {
  /** The Flink (or engine) REST URL of the job behind the resource. */
  restUrl: string;
  jobId: string;
}

export interface FakeFlinkOperatorOptions {
  /** Time between status transitions, ms (default 30). */
  stepMs?: number;
  /** The Flink job behind a resource (namespace, name); without one, a virtual job. */
  backend?: (namespace: string, name: string) => FlinkBackend | undefined;
  /** STANDALONE: makes the backend's TaskManager count follow the `<name>-taskmanager` Deployment (the kubelet's part). */
  scaleTaskManagers?: (namespace: string, name: string, replicas: number) => Promise<void>;
  /** The operator's own default configuration (its ConfigMap), under each resource's flinkConfiguration. */
  defaultConfig?: Record<string, string>;
  /** The virtual job's vertices at first deployment (default: one vertex "v" at spec.job.parallelism). */
  vertices?: (namespace: string, name: string) => Record<string, number> | undefined;
}

export type ReconcilePath = 'first-deploy' | 'ignore' | 'in-place' | 'already-scaled' | 'upgrade';

export interface ReconcileRecord {
  kind: string;
  namespace: string;
  name: string;
  generation: number;
  mode: Mode;
  diff: SpecDiffResult;
  path: ReconcilePath;
  /** Why a SCALE diff could not be scaled in place (NativeFlinkService / StandaloneFlinkService). */
  cannotScale: string[];
  at: number;
}

interface Live {
  vertices: Record<string, number>;
  /** Set while a scale or upgrade is being carried out. */
  busy: boolean;
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function overridesOf(spec: Obj | undefined): Record<string, number> {
  const raw = flatConf(spec?.flinkConfiguration)[OVERRIDES] ?? '';
  const out: Record<string, number> = {};
  for (const part of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    const i = part.lastIndexOf(':');
    if (i > 0) out[part.slice(0, i)] = Number(part.slice(i + 1));
  }
  return out;
}

export class FakeFlinkOperator {
  readonly records: ReconcileRecord[] = [];
  /** CRD violations in the model's own status writes (a bug in the model if non-empty). */
  readonly modelErrors: string[] = [];
  private readonly server: FakeKubeApiServer;
  private readonly o: FakeFlinkOperatorOptions;
  private readonly live = new Map<string, Live>();
  private readonly queued = new Set<string>();
  private chain: Promise<void> = Promise.resolve();
  private unsubscribe: (() => void) | null = null;
  private stopped = false;

  constructor(server: FakeKubeApiServer, o: FakeFlinkOperatorOptions = {}) {
    this.server = server;
    this.o = o;
  }

  /** Starts watching the store; reconciles what is already there. */
  start(): this {
    this.unsubscribe = this.server.store.onChange((t, ns, ev) => {
      if (t.group === 'flink.apache.org' && ev.type !== 'DELETED') this.enqueue(t, ns, String(ev.object.metadata.name));
    });
    for (const r of ['flinkdeployments.flink.apache.org', 'flinksessionjobs.flink.apache.org']) {
      const t = this.server.typeOf(r);
      for (const ns of this.namespaces(t)) for (const o of this.server.store.list(t, ns)) this.enqueue(t, ns, String(o.metadata.name));
    }
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    await this.chain;
  }

  /** Resolves once every queued reconcile and transition has run. */
  async idle(): Promise<void> {
    for (;;) {
      const c = this.chain;
      await c;
      if (c === this.chain && this.queued.size === 0) return;
    }
  }

  recordsFor(name: string): ReconcileRecord[] {
    return this.records.filter((r) => r.name === name);
  }

  private namespaces(t: ResourceType): string[] {
    void t;
    return ['flink', 'default', ...new Set(this.server.served.map((s) => s.namespace).filter(Boolean))];
  }

  private enqueue(t: ResourceType, ns: string, name: string): void {
    const key = `${t.resource}/${ns}/${name}`;
    if (this.stopped || this.queued.has(key) || this.live.get(key)?.busy) return;
    this.queued.add(key);
    this.chain = this.chain.then(async () => {
      this.queued.delete(key);
      try {
        await this.reconcile(t, ns, name, key);
      } catch (err) {
        this.modelErrors.push(`reconcile ${key}: ${String(err)}`);
      }
    });
  }

  private get(t: ResourceType, ns: string, name: string): KubeObject | undefined {
    return this.server.store.get(t, ns, name);
  }

  /** Writes status straight into the store, as the operator's status patch would, and checks it against the CRD. */
  private writeStatus(t: ResourceType, ns: string, name: string, status: (cur: Obj) => Obj): void {
    const cur = this.get(t, ns, name);
    if (!cur) return;
    const next = { ...cur, status: status(isObj(cur.status) ? cur.status : {}) } as KubeObject;
    for (const e of flinkCrdErrors(t.kind as FlinkCrdKind, next)) this.modelErrors.push(`${t.kind} ${name} status: ${e}`);
    this.server.store.replace(t, ns, next);
  }

  private modeOf(t: ResourceType, ns: string, obj: KubeObject): { mode: Mode; cluster: KubeObject | undefined } {
    const spec = (obj.spec ?? {}) as Obj;
    const cluster = t.resource === 'flinksessionjobs'
      ? this.get(this.server.typeOf('flinkdeployments.flink.apache.org'), ns, String(spec.deploymentName ?? '')) : obj;
    return { mode: ((cluster?.spec ?? {}) as Obj).mode === 'standalone' ? 'standalone' : 'native', cluster };
  }

  private async reconcile(t: ResourceType, ns: string, name: string, key: string): Promise<void> {
    const obj = this.get(t, ns, name);
    if (!obj) return;
    const spec = (obj.spec ?? {}) as Obj;
    const gen = Number(obj.metadata.generation ?? 1);
    const { mode, cluster } = this.modeOf(t, ns, obj);
    const status = (isObj(obj.status) ? obj.status : {}) as Obj;
    const rs = (isObj(status.reconciliationStatus) ? status.reconciliationStatus : {}) as Obj;
    const record = (diff: SpecDiffResult, path: ReconcilePath, cannotScale: string[] = []): void => {
      this.records.push({ kind: t.kind, namespace: ns, name, generation: gen, mode, diff, path, cannotScale, at: Date.now() });
    };
    if (typeof rs.lastReconciledSpec !== 'string') {
      this.firstDeploy(t, ns, name, obj, mode, key);
      record({ type: 'IGNORE', diffs: [] }, 'first-deploy');
      return;
    }
    const last = JSON.parse(rs.lastReconciledSpec) as Obj;
    const lastSpec = (isObj(last.spec) ? last.spec : last) as Obj;
    const diff = diffSpecs(lastSpec, spec, mode);
    if (diff.type === 'IGNORE') {
      if (status.observedGeneration !== gen) {
        this.writeStatus(t, ns, name, (s) => ({ ...s, observedGeneration: gen }));
        record(diff, 'ignore');
      }
      return;
    }
    const live = this.liveOf(key, spec);
    live.busy = true;
    try {
      if (diff.type === 'SCALE') {
        const blockers = mode === 'native'
          ? await this.nativeScaleBlockers(ns, name, spec, lastSpec, cluster, status, live)
          : this.standaloneScaleBlockers(ns, name, spec, t);
        if (blockers.length === 0) {
          const triggered = await this.applyScale(ns, name, spec, mode, live, t);
          record(diff, triggered ? 'in-place' : 'already-scaled');
          await this.finishScale(t, ns, name, spec, gen, triggered, mode, live);
          return;
        }
        record(diff, 'upgrade', blockers);
      } else {
        record(diff, 'upgrade');
      }
      await this.upgrade(t, ns, name, spec, gen, live);
    } finally {
      live.busy = false;
    }
    // A write that arrived while busy was not queued: look again.
    this.enqueue(t, ns, name);
  }

  private liveOf(key: string, spec: Obj): Live {
    let l = this.live.get(key);
    if (!l) {
      const job = (spec.job ?? {}) as Obj;
      l = { vertices: { v: Number(job.parallelism ?? 1) }, busy: false };
      this.live.set(key, l);
    }
    return l;
  }

  private specWithMeta(obj: KubeObject, spec: Obj, gen: number): string {
    return JSON.stringify({ spec, resource_metadata: { apiVersion: 'flink.apache.org/v1beta1', metadata: { generation: gen }, firstDeployment: false } });
  }

  private firstDeploy(t: ResourceType, ns: string, name: string, obj: KubeObject, mode: Mode, key: string): void {
    const spec = (obj.spec ?? {}) as Obj;
    const gen = Number(obj.metadata.generation ?? 1);
    const backend = this.o.backend?.(ns, name);
    const live = this.liveOf(key, spec);
    const seeded = this.o.vertices?.(ns, name);
    if (seeded) live.vertices = { ...seeded };
    for (const [v, p] of Object.entries(overridesOf(spec))) if (v in live.vertices) live.vertices[v] = p;
    if (mode === 'standalone' && t.resource === 'flinkdeployments') {
      const tm = (spec.taskManager ?? {}) as Obj;
      this.server.putObject('deployments.apps', ns, { metadata: { name: `${name}-taskmanager` }, spec: { replicas: Number(tm.replicas ?? 1), template: {} } });
    }
    const serialized = this.specWithMeta(obj, spec, gen);
    this.writeStatus(t, ns, name, (s) => ({
      ...s,
      lifecycleState: 'STABLE', observedGeneration: gen,
      ...(t.resource === 'flinkdeployments' ? { jobManagerDeploymentStatus: 'READY' } : {}),
      jobStatus: { state: 'RUNNING', jobId: backend?.jobId ?? randomBytes(16).toString('hex'), jobName: name, startTime: String(Date.now()) },
      reconciliationStatus: { state: 'DEPLOYED', lastReconciledSpec: serialized, lastStableSpec: serialized, reconciliationTimestamp: Date.now() },
    }));
  }

  private async nativeScaleBlockers(ns: string, name: string, spec: Obj, lastSpec: Obj, cluster: KubeObject | undefined, status: Obj, live: Live): Promise<string[]> {
    const out: string[] = [];
    const clusterSpec = (cluster?.spec ?? {}) as Obj;
    const conf = { ...this.o.defaultConfig, ...flatConf(clusterSpec.flinkConfiguration), ...flatConf(spec.flinkConfiguration) };
    if (!isObj(spec.job)) out.push('no job (NativeFlinkService.supportsInPlaceScaling)');
    if ((conf['kubernetes.operator.job.upgrade.inplace-scaling.enabled'] ?? 'true') === 'false') out.push('in-place scaling disabled (KubernetesOperatorConfigOptions.JOB_UPGRADE_INPLACE_SCALING_ENABLED)');
    const m = /^v(\d+)_(\d+)$/.exec(String(clusterSpec.flinkVersion ?? ''));
    if (!m || Number(m[1]) < 1 || (Number(m[1]) === 1 && Number(m[2]) < 18)) out.push(`flinkVersion ${String(clusterSpec.flinkVersion)} is not newer than v1_17 (NativeFlinkService.supportsInPlaceScaling)`);
    if (conf['jobmanager.scheduler'] !== 'adaptive') out.push('scheduler is not adaptive (NativeFlinkService.supportsInPlaceScaling)');
    const js = String(((status.jobStatus ?? {}) as Obj).state ?? '');
    if (['FAILED', 'CANCELED', 'FINISHED', 'SUSPENDED', 'RECONCILING'].includes(js)) out.push(`job is ${js} (NativeFlinkService.supportsInPlaceScaling)`);
    const next = overridesOf(spec);
    const prev = overridesOf(lastSpec);
    if (Object.keys(next).length === 0 && Object.keys(prev).length === 0) out.push('no overrides before or after (NativeFlinkService.scale)');
    const vertices = await this.vertexParallelism(ns, name, live);
    for (const v of Object.keys(vertices)) if (next[v] === undefined && prev[v] !== undefined) out.push(`override for ${v} removed (NativeFlinkService.scale)`);
    return out;
  }

  private standaloneScaleBlockers(ns: string, name: string, spec: Obj, t: ResourceType): string[] {
    const out: string[] = [];
    if (t.resource !== 'flinkdeployments') out.push(`no TaskManager Deployment ${name}-taskmanager for a session job (StandaloneFlinkService.scale)`);
    if (isObj(spec.job) && flatConf(spec.flinkConfiguration)['scheduler-mode'] !== 'reactive') out.push('reactive scaling is not enabled (StandaloneFlinkService.scale)');
    if (!this.server.getObject('deployments.apps', ns, `${name}-taskmanager`)) out.push(`TM Deployment ${name}-taskmanager not found (StandaloneFlinkService.scale)`);
    return out;
  }

  /** The job's vertex parallelism: over the backend's REST, or the virtual job's. */
  private async vertexParallelism(ns: string, name: string, live: Live): Promise<Record<string, number>> {
    const b = this.o.backend?.(ns, name);
    if (!b) return { ...live.vertices };
    const res = await fetch(`${b.restUrl}/jobs/${b.jobId}`, { signal: AbortSignal.timeout(5000) });
    const body = (await res.json()) as { vertices?: Array<{ id: string; parallelism: number }> };
    return Object.fromEntries((body.vertices ?? []).map((v) => [v.id, v.parallelism]));
  }

  private async backendState(ns: string, name: string): Promise<string | undefined> {
    const b = this.o.backend?.(ns, name);
    if (!b) return undefined;
    try {
      const res = await fetch(`${b.restUrl}/jobs/${b.jobId}`, { signal: AbortSignal.timeout(5000) });
      return ((await res.json()) as { state?: string }).state;
    } catch {
      return undefined;
    }
  }

  /** Sets the job's parallelism to `target` per vertex (resource-requirements on the backend). Returns whether anything changed. */
  private async setParallelism(ns: string, name: string, target: Record<string, number>, live: Live): Promise<boolean> {
    const b = this.o.backend?.(ns, name);
    if (!b) {
      let changed = false;
      for (const [v, p] of Object.entries(target)) if (v in live.vertices && live.vertices[v] !== p) {
        live.vertices[v] = p;
        changed = true;
      }
      return changed;
    }
    const url = `${b.restUrl}/jobs/${b.jobId}/resource-requirements`;
    const cur = (await (await fetch(url, { signal: AbortSignal.timeout(5000) })).json()) as Record<string, { parallelism: { lowerBound: number; upperBound: number } }>;
    let changed = false;
    for (const [v, r] of Object.entries(cur)) {
      const p = target[v];
      if (p === undefined || (r.parallelism.lowerBound === p && r.parallelism.upperBound === p)) continue;
      cur[v] = { parallelism: { lowerBound: p, upperBound: p } };
      changed = true;
    }
    if (changed) {
      const res = await fetch(url, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(cur), signal: AbortSignal.timeout(5000) });
      if (!res.ok) throw new Error(`PUT ${url}: HTTP ${res.status} ${await res.text()}`);
    }
    return changed;
  }

  private async applyScale(ns: string, name: string, spec: Obj, mode: Mode, live: Live, t: ResourceType): Promise<boolean> {
    if (mode === 'native') return this.setParallelism(ns, name, overridesOf(spec), live);
    const replicas = Number(((spec.taskManager ?? {}) as Obj).replicas ?? 1);
    const dep = this.server.getObject('deployments.apps', ns, `${name}-taskmanager`)!;
    if ((dep.spec as Obj).replicas === replicas) return false;
    this.server.putObject('deployments.apps', ns, { ...dep, spec: { ...(dep.spec as Obj), replicas } });
    await this.o.scaleTaskManagers?.(ns, name, replicas);
    const slots = Number(flatConf(spec.flinkConfiguration)['taskmanager.numberOfTaskSlots'] ?? 1);
    if (!this.o.backend?.(ns, name)) for (const v of Object.keys(live.vertices)) live.vertices[v] = replicas * slots;
    void t;
    return true;
  }

  private async finishScale(t: ResourceType, ns: string, name: string, spec: Obj, gen: number, triggered: boolean, mode: Mode, live: Live): Promise<void> {
    const obj = this.get(t, ns, name);
    if (!obj) return;
    const serialized = this.specWithMeta(obj, spec, gen);
    this.writeStatus(t, ns, name, (s) => ({
      ...s, observedGeneration: gen, lifecycleState: triggered ? 'UPGRADING' : 'STABLE',
      reconciliationStatus: { ...(s.reconciliationStatus as Obj), state: triggered ? 'UPGRADING' : 'DEPLOYED', lastReconciledSpec: serialized, reconciliationTimestamp: Date.now() },
    }));
    if (!triggered) return;
    const want = overridesOf(spec);
    for (let i = 0; i < 400 && !this.stopped; i++) {
      await this.sleep();
      const state = await this.backendState(ns, name);
      if (state) this.writeStatus(t, ns, name, (s) => ({ ...s, jobStatus: { ...(s.jobStatus as Obj), state } }));
      const now = await this.vertexParallelism(ns, name, live);
      const done = mode === 'standalone' || Object.entries(now).every(([v, p]) => want[v] === undefined || want[v] === p);
      if (done && (state === undefined || state === 'RUNNING')) break;
    }
    this.writeStatus(t, ns, name, (s) => ({
      ...s, lifecycleState: 'STABLE', jobStatus: { ...(s.jobStatus as Obj), state: 'RUNNING' },
      reconciliationStatus: { ...(s.reconciliationStatus as Obj), state: 'DEPLOYED', lastStableSpec: serialized },
    }));
  }

  private async upgrade(t: ResourceType, ns: string, name: string, spec: Obj, gen: number, live: Live): Promise<void> {
    const obj = this.get(t, ns, name);
    if (!obj) return;
    const isFd = t.resource === 'flinkdeployments';
    const upgradeMode = String(((spec.job ?? {}) as Obj).upgradeMode ?? 'stateless');
    const stoppedAs = upgradeMode === 'savepoint' ? 'FINISHED' : upgradeMode === 'last-state' ? 'SUSPENDED' : 'CANCELED';
    const serialized = this.specWithMeta(obj, spec, gen);
    this.writeStatus(t, ns, name, (s) => ({
      ...s, observedGeneration: gen, lifecycleState: 'UPGRADING', ...(isFd ? { jobManagerDeploymentStatus: 'DEPLOYING' } : {}),
      jobStatus: { ...(s.jobStatus as Obj), state: stoppedAs },
      reconciliationStatus: { ...(s.reconciliationStatus as Obj), state: 'UPGRADING', lastReconciledSpec: serialized, reconciliationTimestamp: Date.now() },
    }));
    await this.sleep();
    this.writeStatus(t, ns, name, (s) => ({ ...s, ...(isFd ? { jobManagerDeploymentStatus: 'DEPLOYED_NOT_READY' } : {}), jobStatus: { ...(s.jobStatus as Obj), state: 'RECONCILING' } }));
    await this.sleep();
    // Resubmission: overrides where given, spec.job.parallelism elsewhere (the modelling shortcut above).
    const jobP = Number(((spec.job ?? {}) as Obj).parallelism ?? 0);
    const now = await this.vertexParallelism(ns, name, live);
    const ov = overridesOf(spec);
    const target = Object.fromEntries(Object.keys(now).map((v) => [v, ov[v] ?? (jobP > 0 ? jobP : now[v]!)]));
    await this.setParallelism(ns, name, target, live);
    this.writeStatus(t, ns, name, (s) => ({
      ...s, lifecycleState: 'DEPLOYED', ...(isFd ? { jobManagerDeploymentStatus: 'READY' } : {}),
      jobStatus: { ...(s.jobStatus as Obj), state: 'RUNNING', startTime: String(Date.now()) },
      reconciliationStatus: { ...(s.reconciliationStatus as Obj), state: 'DEPLOYED' },
    }));
    await this.sleep();
    this.writeStatus(t, ns, name, (s) => ({ ...s, lifecycleState: 'STABLE', reconciliationStatus: { ...(s.reconciliationStatus as Obj), lastStableSpec: serialized } }));
  }

  private sleep(): Promise<void> {
    return new Promise((r) => setTimeout(r, this.o.stepMs ?? 30));
  }
}
