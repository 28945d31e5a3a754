/**
 * The journal on Kubernetes: one ConfigMap, one data key per journal key, each value the JSON
 * {version, value}. A write reads the ConfigMap, checks the key's own version (the
 * compare-and-set the journal needs), and replaces the ConfigMap carrying the
 * resourceVersion it read. If someone else wrote the ConfigMap meanwhile (409 Conflict),
 * it re-reads and tries again, so writers of different keys never lose each other's work
 * and writers of the same key get FP_JOURNAL_CONFLICT. A ConfigMap holds at most ~1 MiB;
 * the journal keeps its records small and bounded.
 *
 * A write's first attempt starts from the ConfigMap this store last read or wrote, not from a
 * new read: its callers read the key just before (the state store's save, the intent journal), and
 * the replace carries that ConfigMap's resourceVersion, so a ConfigMap changed since is refused
 * (409) and the write goes on from a fresh read, as above. A key version that looks wrong on the
 * remembered ConfigMap is checked again on a fresh read before it counts as a conflict. Reads
 * are always fresh.
 */
import type { V1ConfigMap } from '@kubernetes/client-node';
import { FlowpilotError } from '../../../common/errors.ts';
import { kubeCall, isKubeCode, type KubeClients } from '../../kube/client.ts';
import { journalConflict, safeKey, type JournalStore, type Versioned } from './store.ts';

const MAX_BYTES = 900_000;
/** Data keys whose document version a store keeps (see `versions`). */
const MAX_VERSIONS = 16;

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
  /** The ConfigMap as this store last read or wrote it (null: absent or not known): a write's first base. */
  private last: V1ConfigMap | null = null;
  /**
   * Per data key, the version of the document this store last wrote or parsed there, with the
   * document's text: a write (and readRemembered) whose key still holds that text takes the version
   * from here instead of parsing the document again (a state document is kB of base64 and was
   * parsed twice per save). At most MAX_VERSIONS keys; `read` always parses.
   */
  private readonly versions = new Map<string, { raw: string; version: number }>();

  constructor(o: ConfigMapJournalOptions) {
    this.o = o;
    this.namespace = o.namespace ?? o.clients.namespace;
    this.where = `configmap:${this.namespace}/${o.name}`;
  }

  private async readMap(): Promise<V1ConfigMap | null> {
    const c = this.o.clients;
    try {
      this.last = await kubeCall(c, `read journal ${this.where}`, () => c.core.readNamespacedConfigMap({ name: this.o.name, namespace: this.namespace }));
    } catch (err) {
      if (!isKubeCode(err, 'FP_KUBE_NOT_FOUND')) throw err;
      this.last = null;
    }
    return this.last;
  }

  private static parse(raw: string | undefined): { version: number; value: unknown } | null {
    if (raw === undefined) return null;
    return JSON.parse(raw) as { version: number; value: unknown };
  }

  /** The version of the document `raw` under data key `k` (null: none), parsed only when `versions` does not know that text. */
  private versionOf(k: string, raw: string | undefined): number | null {
    if (raw === undefined) return null;
    const hit = this.versions.get(k);
    if (hit !== undefined && hit.raw === raw) return hit.version;
    const { version } = ConfigMapJournalStore.parse(raw)!;
    this.rememberVersion(k, raw, version);
    return version;
  }

  private rememberVersion(k: string, raw: string, version: number): void {
    if (!this.versions.has(k) && this.versions.size >= MAX_VERSIONS) this.versions.clear();
    this.versions.set(k, { raw, version });
  }

  async read<T>(key: string): Promise<Versioned<T> | null> {
    const cm = await this.readMap();
    const doc = ConfigMapJournalStore.parse(cm?.data?.[safeKey(key)]);
    return doc ? { value: doc.value as T, version: doc.version } : null;
  }

  /** From the ConfigMap last read or written, if any (see JournalStore.readRemembered): no request then. */
  async readRemembered<T>(key: string): Promise<Versioned<T> | null> {
    const cm = this.last ?? await this.readMap();
    const k = safeKey(key);
    const raw = cm?.data?.[k];
    if (raw === undefined) return null;
    // the version without a parse when known; the value parsed if asked for (a writer asks for the version only)
    return { version: this.versionOf(k, raw)!, get value(): T { return ConfigMapJournalStore.parse(raw)!.value as T; } };
  }

  async write<T>(key: string, value: T, expected: number | null): Promise<number> {
    const c = this.o.clients;
    const k = safeKey(key);
    const attempts = this.o.maxAttempts ?? 8;
    for (let i = 0; i < attempts; i++) {
      // (the first attempt from the ConfigMap last seen, when there is one; see the header)
      const remembered = i === 0 ? this.last : null;
      let cm = remembered ?? await this.readMap();
      let actual = this.versionOf(k, cm?.data?.[k]);
      if (remembered !== null && actual !== expected) {
        cm = await this.readMap();
        actual = this.versionOf(k, cm?.data?.[k]);
      }
      if (actual !== expected) throw journalConflict(this.where, key, expected, actual);
      const version = (actual ?? 0) + 1;
      const raw = JSON.stringify({ version, value });
      const data = { ...(cm?.data ?? {}), [k]: raw };
      const size = Object.entries(data).reduce((n, [dk, dv]) => n + dk.length + dv.length, 0);
      if (size > MAX_BYTES) {
        throw new FlowpilotError('FP_JOURNAL_FULL', `journal ${this.where} would grow to ${size} bytes, over the ConfigMap limit; prune finished records`);
      }
      try {
        if (cm === null) {
          this.last = await kubeCall(c, `create journal ${this.where}`, () => c.core.createNamespacedConfigMap({
            namespace: this.namespace,
            body: { metadata: { name: this.o.name, namespace: this.namespace, labels: { 'app.kubernetes.io/component': 'flowpilot-journal', ...this.o.labels } }, data },
          }));
        } else {
          this.last = await kubeCall(c, `update journal ${this.where}`, () => c.core.replaceNamespacedConfigMap({
            name: this.o.name, namespace: this.namespace, body: { ...cm, data },
          }));
        }
        // (the answer's copy of the text when it is the one sent: no second copy of the document kept)
        const stored = this.last?.data?.[k];
        if (stored === raw) this.rememberVersion(k, stored, version);
        return version;
      } catch (err) {
        this.last = null;
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
