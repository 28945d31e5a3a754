/**
 * `high-availability.type: kubernetes`: the HA store in ConfigMaps, in the shape Flink's
 * KubernetesHaServices uses where it matters (so tooling that looks for Flink's HA ConfigMaps,
 * like the Flink Kubernetes operator's "HA metadata present" check, finds them):
 *
 * - `<cluster-id>-cluster-config-map`: the leader annotation
 *   `control-plane.alpha.kubernetes.io/leader` (holderIdentity, leaseDurationSeconds,
 *   acquireTime, renewTime, leaderTransitions), data `address` and `sessionId` of the leader,
 *   and one `jobGraph-<job-id>` per job pointing to its blob in the storage dir.
 * - `<cluster-id>-<job-id>-config-map`: `checkpointID-<id, 19 digits>` pointing to the latest
 *   completed checkpoint (older keys are dropped) and `counter`, the checkpoint id counter.
 *
 * Both carry Flink's labels (app=<cluster-id>, configmap-type=high-availability,
 * type=flink-native-kubernetes). Every update is a read-modify-replace with the read's
 * resourceVersion, retried on a conflict. Job graph blobs and checkpoints live in the storage
 * dir (shared storage), as in Flink.
 */
import type { CoreV1Api, V1ConfigMap } from '@kubernetes/client-node';
import type { Logger } from '../../common/log.ts';
import { JobGraphBlobs, type CheckpointPointer, type HaServices, type JobGraphRecord, type LeaderInfo, type StoredJobGraph } from './ha-services.ts';

export const LEADER_ANNOTATION = 'control-plane.alpha.kubernetes.io/leader';
const JOB_GRAPH_PREFIX = 'jobGraph-';
const CHECKPOINT_PREFIX = 'checkpointID-';
const COUNTER_KEY = 'counter';

export function checkpointKey(id: number): string {
  return `${CHECKPOINT_PREFIX}${String(id).padStart(19, '0')}`;
}

export interface KubernetesHaOptions {
  storageDir: string;
  clusterId: string;
  namespace: string;
  log: Logger;
  /** A kubeconfig file; default: client-node's default loading (KUBECONFIG, ~/.kube/config, in-cluster). */
  kubeconfig?: string;
}

function httpCode(err: unknown): number | undefined {
  const c = (err as { code?: unknown }).code;
  return typeof c === 'number' ? c : undefined;
}

export class KubernetesHaServices implements HaServices {
  readonly type = 'kubernetes' as const;
  private readonly api: CoreV1Api;
  private readonly blobs: JobGraphBlobs;
  private readonly clusterId: string;
  private readonly namespace: string;
  private readonly log: Logger;
  private leaderTransitions = 0;

  constructor(api: CoreV1Api, opts: KubernetesHaOptions) {
    this.api = api;
    this.blobs = new JobGraphBlobs(opts.storageDir, opts.clusterId);
    this.clusterId = opts.clusterId;
    this.namespace = opts.namespace;
    this.log = opts.log;
  }

  static async fromDefaultConfig(opts: KubernetesHaOptions): Promise<KubernetesHaServices> {
    const k8s = await import('@kubernetes/client-node');
    const kc = new k8s.KubeConfig();
    if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
    else kc.loadFromDefault();
    return new KubernetesHaServices(kc.makeApiClient(k8s.CoreV1Api), opts);
  }

  get clusterConfigMap(): string {
    return `${this.clusterId}-cluster-config-map`;
  }

  jobConfigMap(jobId: string): string {
    return `${this.clusterId}-${jobId}-config-map`;
  }

  private labels(): Record<string, string> {
    return { app: this.clusterId, 'configmap-type': 'high-availability', type: 'flink-native-kubernetes' };
  }

  private async read(name: string): Promise<V1ConfigMap | null> {
    try {
      return await this.api.readNamespacedConfigMap({ name, namespace: this.namespace });
    } catch (err) {
      if (httpCode(err) === 404) return null;
      throw err;
    }
  }

  /** Read-modify-write of one ConfigMap (created when missing), retried on a write conflict. */
  private async update(name: string, change: (cm: V1ConfigMap) => void): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const current = await this.read(name);
      const cm: V1ConfigMap = current ?? { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: this.namespace, labels: this.labels() }, data: {} };
      cm.data ??= {};
      change(cm);
      try {
        if (current) await this.api.replaceNamespacedConfigMap({ name, namespace: this.namespace, body: cm });
        else await this.api.createNamespacedConfigMap({ namespace: this.namespace, body: cm });
        return;
      } catch (err) {
        if ((httpCode(err) === 409 || httpCode(err) === 404) && attempt < 10) continue;
        throw err;
      }
    }
  }

  async grantLeadership(leader: LeaderInfo): Promise<void> {
    const now = new Date().toISOString();
    await this.update(this.clusterConfigMap, (cm) => {
      const annotations = (cm.metadata!.annotations ??= {});
      let prev: { holderIdentity?: string; leaderTransitions?: number; acquireTime?: string } = {};
      try {
        prev = JSON.parse(annotations[LEADER_ANNOTATION] ?? '{}') as typeof prev;
      } catch {
        // not ours
      }
      const changed = prev.holderIdentity !== leader.sessionId;
      this.leaderTransitions = (prev.leaderTransitions ?? 0) + (changed && prev.holderIdentity ? 1 : 0);
      annotations[LEADER_ANNOTATION] = JSON.stringify({
        holderIdentity: leader.sessionId,
        leaseDurationSeconds: 15,
        acquireTime: changed ? now : (prev.acquireTime ?? now),
        renewTime: now,
        leaderTransitions: this.leaderTransitions,
      });
      cm.data!.address = leader.address;
      cm.data!.restAddress = leader.restAddress;
      cm.data!.sessionId = leader.sessionId;
    });
    this.log.info({ configMap: this.clusterConfigMap, namespace: this.namespace }, 'leadership recorded in the HA ConfigMap');
  }

  async putJobGraph(record: JobGraphRecord, moduleBytes: Uint8Array): Promise<void> {
    const path = await this.blobs.put(record, moduleBytes);
    await this.update(this.clusterConfigMap, (cm) => {
      cm.data![`${JOB_GRAPH_PREFIX}${record.jobId}`] = JSON.stringify({ path, sha256: record.module.sha256 });
    });
  }

  async jobGraphs(): Promise<StoredJobGraph[]> {
    const cm = await this.read(this.clusterConfigMap);
    const out: StoredJobGraph[] = [];
    for (const [key, value] of Object.entries(cm?.data ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
      if (!key.startsWith(JOB_GRAPH_PREFIX)) continue;
      let pointer: { path?: string };
      try {
        pointer = JSON.parse(value) as { path?: string };
      } catch {
        continue;
      }
      const g = pointer.path ? await this.blobs.get(pointer.path) : null;
      if (g) out.push(g);
      else this.log.warn({ key }, 'the HA ConfigMap names a job graph whose blob is missing or corrupt');
    }
    return out;
  }

  async removeJob(jobId: string): Promise<void> {
    await this.update(this.clusterConfigMap, (cm) => {
      delete cm.data![`${JOB_GRAPH_PREFIX}${jobId}`];
    });
    try {
      await this.api.deleteNamespacedConfigMap({ name: this.jobConfigMap(jobId), namespace: this.namespace });
    } catch (err) {
      if (httpCode(err) !== 404) throw err;
    }
    await this.blobs.remove(jobId);
  }

  async addCheckpoint(jobId: string, pointer: CheckpointPointer, counter: number): Promise<void> {
    await this.update(this.jobConfigMap(jobId), (cm) => {
      const data = cm.data!;
      for (const k of Object.keys(data)) if (k.startsWith(CHECKPOINT_PREFIX)) delete data[k];
      data[checkpointKey(pointer.checkpointId)] = JSON.stringify(pointer);
      data[COUNTER_KEY] = String(Math.max(Number(data[COUNTER_KEY] ?? 0) || 0, counter));
    });
  }

  async latestCheckpoint(jobId: string): Promise<CheckpointPointer | null> {
    const cm = await this.read(this.jobConfigMap(jobId));
    const keys = Object.keys(cm?.data ?? {}).filter((k) => k.startsWith(CHECKPOINT_PREFIX)).sort();
    const last = keys.at(-1);
    if (!last) return null;
    return JSON.parse(cm!.data![last]!) as CheckpointPointer;
  }

  async checkpointCounter(jobId: string): Promise<number> {
    const cm = await this.read(this.jobConfigMap(jobId));
    return Number(cm?.data?.[COUNTER_KEY] ?? 0) || 0;
  }

  async close(): Promise<void> {}
}
