/**
 * The journal on Kubernetes: one ConfigMap, one data key per journal key, each value the JSON
 * {version, value}. A write reads the ConfigMap, checks the key's own version (the
 * compare-and-set the journal needs), and replaces the ConfigMap carrying the
 * resourceVersion it read. If someone else wrote the ConfigMap meanwhile (409 Conflict),
 * it re-reads and tries again, so writers of different keys never lose each other's work
 * and writers of the same key get FP_JOURNAL_CONFLICT. A ConfigMap holds at most ~1 MiB;
 * the journal keeps its records small and bounded.
 */
import type { V1ConfigMap } from '@kubernetes/client-node';
import { FlowpilotError } from '../../../common/errors.ts';
import { kubeCall, isKubeCode, type KubeClients } from '../../kube/client.ts';
import { journalConflict, safeKey, type JournalStore, type Versioned } from './store.ts';

const MAX_BYTES = 900_000;

export interface ConfigMapJournalOptions {
  clients: KubeClients;
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  /** Attempts on resourceVersion conflicts before giving up. */
  maxAttempts?: number;
}

export class ConfigMapJournalStore implements JournalStore {
  readonly where: string;
  private readonly o: ConfigMapJournalOptions;
  private readonly namespace: string;

  constructor(o: ConfigMapJournalOptions) {
    this.o = o;
    this.namespace = o.namespace ?? o.clients.namespace;
    this.where = `configmap:${this.namespace}/${o.name}`;
  }

  private async readMap(): Promise<V1ConfigMap | null> {
    const c = this.o.clients;
    try {
      return await kubeCall(c, `read journal ${this.where}`, () => c.core.readNamespacedConfigMap({ name: this.o.name, namespace: this.namespace }));
    } catch (err) {
      if (isKubeCode(err, 'FP_KUBE_NOT_FOUND')) return null;
      throw err;
    }
  }

  private static parse(raw: string | undefined): { version: number; value: unknown } | null {
    if (raw === undefined) return null;
    return JSON.parse(raw) as { version: number; value: unknown };
  }

  async read<T>(key: string): Promise<Versioned<T> | null> {
    const cm = await this.readMap();
    const doc = ConfigMapJournalStore.parse(cm?.data?.[safeKey(key)]);
    return doc ? { value: doc.value as T, version: doc.version } : null;
  }

  async write<T>(key: string, value: T, expected: number | null): Promise<number> {
    const c = this.o.clients;
    const k = safeKey(key);
    const attempts = this.o.maxAttempts ?? 8;
    for (let i = 0; i < attempts; i++) {
      const cm = await this.readMap();
      const cur = ConfigMapJournalStore.parse(cm?.data?.[k]);
      const actual = cur ? cur.version : null;
      if (actual !== expected) throw journalConflict(this.where, key, expected, actual);
      const version = (actual ?? 0) + 1;
      const data = { ...(cm?.data ?? {}), [k]: JSON.stringify({ version, value }) };
      const size = Object.entries(data).reduce((n, [dk, dv]) => n + dk.length + dv.length, 0);
      if (size > MAX_BYTES) {
        throw new FlowpilotError('FP_JOURNAL_FULL', `journal ${this.where} would grow to ${size} bytes, over the ConfigMap limit; prune finished records`);
      }
      try {
        if (cm === null) {
          await kubeCall(c, `create journal ${this.where}`, () => c.core.createNamespacedConfigMap({
            namespace: this.namespace,
            body: { metadata: { name: this.o.name, namespace: this.namespace, labels: { 'app.kubernetes.io/component': 'flowpilot-journal', ...this.o.labels } }, data },
          }));
        } else {
          await kubeCall(c, `update journal ${this.where}`, () => c.core.replaceNamespacedConfigMap({
            name: this.o.name, namespace: this.namespace, body: { ...cm, data },
          }));
        }
        return version;
      } catch (err) {
        if (!isKubeCode(err, 'FP_KUBE_CONFLICT')) throw err;
        // Someone else wrote the ConfigMap (another key, or the same one): re-read and re-check.
      }
    }
    throw new FlowpilotError('FP_JOURNAL_CONFLICT', `journal ${this.where}: still conflicting after ${attempts} attempts to write "${key}"`);
  }

  async keys(): Promise<string[]> {
    const cm = await this.readMap();
    return Object.keys(cm?.data ?? {}).sort();
  }
}
