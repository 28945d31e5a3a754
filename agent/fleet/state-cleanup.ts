/**
 * A managed job's state ConfigMap (`<fleet>-state-<uid>`: its intent journal record and history,
 * job-pipeline.ts) goes when its FlinkDeployment or FlinkSessionJob is deleted. Opting out keeps
 * it: a job opted in again resumes its history.
 *
 * Not through ownerReferences: the ConfigMap lives in the agent's namespace and the resource in its
 * own, and Kubernetes does not allow a namespaced owner in another namespace (its garbage
 * collector treats such an owner as absent and deletes the dependent at once). So the agent
 * deletes it:
 * - on the watch's DELETED event (or the resource missing from a resync), by the replica that owns
 *   the job by hash, once that replica's pipeline of the job has stopped (its last state save
 *   would otherwise create the ConfigMap again);
 * - by a sweep (at start, then every `sweepEveryMs`): state ConfigMaps of this fleet whose resource
 *   UID is not among the watched resources, whose job this replica owns by hash, older than
 *   `minAgeMs` (a resource just created may not be in this replica's watch cache yet) and whose
 *   resource namespace is watched here. It catches deletions no replica saw (all down, or the owner
 *   died in between).
 */
import type { V1ConfigMap } from '@kubernetes/client-node';
import type { Logger } from '../../common/log.ts';
import { errorMessage } from '../../common/errors.ts';
import { kubeCall, isKubeCode, type KubeClients } from '../kube/client.ts';

export const FLEET_LABEL = 'flowpilot.io/fleet';
export const RESOURCE_UID_LABEL = 'flowpilot.io/resource-uid';
export const RESOURCE_NAMESPACE_LABEL = 'flowpilot.io/resource-namespace';

export interface StateCleanupOptions {
  kube: KubeClients;
  fleet: string;
  /** the ConfigMap's name for a resource UID */
  nameOf: (uid: string) => string;
  /** whether this replica owns the job by hash */
  owns: (uid: string) => boolean;
  /** UIDs of every watched resource (opted in or not), or null while the watches have not listed yet */
  known: () => Set<string> | null;
  /** namespaces watched; empty: all */
  namespaces: readonly string[];
  minAgeMs: number;
  logger: Logger;
  now?: () => number;
}

export class StateCleanup {
  private readonly o: StateCleanupOptions;
  private readonly now: () => number;
  /** ConfigMaps deleted by this replica (for tests and logs) */
  deleted = 0;

  constructor(o: StateCleanupOptions) {
    this.o = o;
    this.now = o.now ?? Date.now;
  }

  /** Deletes the state ConfigMap of a resource that is gone; absent already is fine. */
  async remove(uid: string): Promise<boolean> {
    const c = this.o.kube;
    const name = this.o.nameOf(uid);
    try {
      await kubeCall(c, `delete state ${c.namespace}/${name}`, () => c.core.deleteNamespacedConfigMap({ name, namespace: c.namespace }));
      this.deleted++;
      this.o.logger.info({ configMap: name, uid }, 'fleet: the state ConfigMap of a deleted resource was deleted');
      return true;
    } catch (err) {
      if (isKubeCode(err, 'FP_KUBE_NOT_FOUND')) return false;
      this.o.logger.warn({ configMap: name, uid, err: errorMessage(err) }, 'fleet: could not delete the state ConfigMap of a deleted resource');
      return false;
    }
  }

  /** One sweep (module comment); returns how many ConfigMaps it deleted. */
  async sweep(): Promise<number> {
    const known = this.o.known();
    if (known === null) return 0;
    const c = this.o.kube;
    const list = await kubeCall(c, `list state ConfigMaps in ${c.namespace}`, () =>
      c.core.listNamespacedConfigMap({ namespace: c.namespace, labelSelector: `${FLEET_LABEL}=${this.o.fleet}` }));
    let n = 0;
    for (const cm of list.items) {
      if (!this.orphan(cm, known)) continue;
      if (await this.remove(cm.metadata!.labels![RESOURCE_UID_LABEL]!)) n++;
    }
    return n;
  }

  private orphan(cm: V1ConfigMap, known: Set<string>): boolean {
    const labels = cm.metadata?.labels ?? {};
    const uid = labels[RESOURCE_UID_LABEL];
    if (uid === undefined || known.has(uid) || !this.o.owns(uid)) return false;
    if (cm.metadata?.name !== this.o.nameOf(uid)) return false;
    const created = cm.metadata?.creationTimestamp ? new Date(cm.metadata.creationTimestamp).getTime() : Number.NaN;
    if (!(this.now() - created >= this.o.minAgeMs)) return false;
    if (this.o.namespaces.length === 0) return true;
    const ns = labels[RESOURCE_NAMESPACE_LABEL];
    return ns !== undefined && this.o.namespaces.includes(ns);
  }
}
