/**
 * Leader election over a coordination.k8s.io/v1 Lease, with client-go's semantics: read the
 * Lease (create it if absent); if another holder renewed it within leaseDurationSeconds as
 * observed on OUR clock (no trust in the other node's clock), wait; otherwise take it with an
 * update carrying the resourceVersion we read, so two candidates racing get one 409 and one
 * win. The leader renews every retry period and stops calling itself leader when it has not
 * renewed within the renew deadline. Only the leader actuates (`isLeader()`).
 */
import type { V1Lease } from '@kubernetes/client-node';
import type { Logger } from '../../common/log.ts';
import { silentLogger } from '../../common/log.ts';
import { kubeCall, isKubeCode, type KubeClients } from './client.ts';
import { microTime, parseMicroTime } from './microtime.ts';

export interface LeaderElectionOptions {
  clients: KubeClients;
  leaseName: string;
  namespace?: string;
  identity: string;
  leaseDurationSeconds?: number;
  /** The leader gives up leadership when it has not renewed for this long (ms); < lease duration. */
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  clock?: () => number;
  log?: Logger;
  onStartedLeading?: () => void;
  onStoppedLeading?: () => void;
}

interface Observed {
  holder: string;
  renewTime: string;
  resourceVersion: string;
}

export class LeaderElector {
  private readonly o: Required<Omit<LeaderElectionOptions, 'onStartedLeading' | 'onStoppedLeading' | 'namespace'>> & LeaderElectionOptions;
  private readonly namespace: string;
  private observed: Observed | null = null;
  private observedAt = 0;
  private lastRenewedAt = -Infinity;
  private leading = false;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  /** The election step in flight, if any (settles, never rejects). */
  private stepping: Promise<void> = Promise.resolve();

  constructor(opts: LeaderElectionOptions) {
    const leaseDurationSeconds = opts.leaseDurationSeconds ?? 15;
    this.o = {
      ...opts,
      leaseDurationSeconds,
      renewDeadlineMs: opts.renewDeadlineMs ?? Math.round(leaseDurationSeconds * 1000 * 2 / 3),
      retryPeriodMs: opts.retryPeriodMs ?? 2000,
      clock: opts.clock ?? Date.now,
      log: opts.log ?? silentLogger(),
    };
    this.namespace = opts.namespace ?? opts.clients.namespace;
  }

  /** True while we hold the lease and renewed it within the renew deadline. */
  isLeader(): boolean {
    return this.leading && this.o.clock() - this.lastRenewedAt < this.o.renewDeadlineMs;
  }

  private setLeading(v: boolean): void {
    if (v === this.leading) return;
    this.leading = v;
    this.o.log.info({ lease: this.o.leaseName, identity: this.o.identity, leading: v }, v ? 'became leader' : 'lost leadership');
    if (v) this.o.onStartedLeading?.();
    else this.o.onStoppedLeading?.();
  }

  private leaseBody(now: number, prev: V1Lease | null, rv?: string): V1Lease {
    const prevSpec = prev?.spec;
    const sameHolder = prevSpec?.holderIdentity === this.o.identity;
    const transitions = (prevSpec?.leaseTransitions ?? 0) + (prev && !sameHolder && prevSpec?.holderIdentity ? 1 : 0);
    return {
      apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
      metadata: { name: this.o.leaseName, namespace: this.namespace, ...(rv ? { resourceVersion: rv } : {}), ...(prev?.metadata?.labels ? { labels: prev.metadata.labels } : {}) },
      spec: {
        holderIdentity: this.o.identity,
        leaseDurationSeconds: this.o.leaseDurationSeconds,
        acquireTime: sameHolder && prevSpec?.acquireTime ? microTime(parseMicroTime(prevSpec.acquireTime) ?? now) : microTime(now),
        renewTime: microTime(now),
        leaseTransitions: transitions,
      },
    };
  }

  /** One election step: returns whether we lead afterwards. Never throws on conflicts. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const c = this.o.clients;
    const now = this.o.clock();
    const what = `lease ${this.namespace}/${this.o.leaseName}`;
    let lease: V1Lease | null;
    try {
      lease = await kubeCall(c, `read ${what}`, () => c.coordination.readNamespacedLease({ name: this.o.leaseName, namespace: this.namespace }));
    } catch (err) {
      if (!isKubeCode(err, 'FP_KUBE_NOT_FOUND')) throw err;
      lease = null;
    }
    if (lease === null) {
      try {
        await kubeCall(c, `create ${what}`, () => c.coordination.createNamespacedLease({ namespace: this.namespace, body: this.leaseBody(now, null) }));
        this.lastRenewedAt = now;
        this.setLeading(true);
        return true;
      } catch (err) {
        if (isKubeCode(err, 'FP_KUBE_CONFLICT')) return this.lose();
        throw err;
      }
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const renewTime = spec.renewTime === undefined ? '' : String(spec.renewTime instanceof Date ? spec.renewTime.toISOString() : spec.renewTime);
    const rv = lease.metadata?.resourceVersion ?? '';
    if (!this.observed || this.observed.holder !== holder || this.observed.renewTime !== renewTime) this.observedAt = now;
    this.observed = { holder, renewTime, resourceVersion: rv };
    const durationMs = (spec.leaseDurationSeconds ?? this.o.leaseDurationSeconds) * 1000;
    if (holder !== '' && holder !== this.o.identity && this.observedAt + durationMs > now) return this.lose();
    try {
      await kubeCall(c, `update ${what}`, () => c.coordination.replaceNamespacedLease({ name: this.o.leaseName, namespace: this.namespace, body: this.leaseBody(now, lease, rv) }));
      this.lastRenewedAt = now;
      this.setLeading(true);
      return true;
    } catch (err) {
      if (isKubeCode(err, 'FP_KUBE_CONFLICT')) return this.lose();
      throw err;
    }
  }

  private lose(): false {
    this.setLeading(false);
    return false;
  }

  /** Runs election steps every retry period until stop(). Errors are logged, not thrown. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const tick = async (): Promise<void> => {
      if (!this.running) return;
      try {
        const step = this.tryAcquireOrRenew();
        this.stepping = step.then(() => undefined, () => undefined);
        await step;
      } catch (err) {
        this.o.log.warn({ err, lease: this.o.leaseName }, 'leader election step failed');
        if (this.leading && !this.isLeader()) this.setLeading(false);
      }
      if (this.running) this.timer = setTimeout(() => void tick(), this.o.retryPeriodMs);
    };
    void tick();
  }

  /** Stops the loop without touching the Lease (what a crash looks like to the others). */
  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
    this.setLeading(false);
  }

  /**
   * Stops and, if we hold the Lease, hands it back so another candidate takes over at once. An
   * election step still in flight (a renew, or an acquire) is waited for first, so it cannot
   * take the Lease back after the release; a write conflict means the Lease changed meanwhile,
   * so it is read again.
   */
  async release(): Promise<void> {
    const wasLeading = this.leading;
    this.stop();
    await this.stepping;
    // A step that was in flight may have just acquired the Lease: then it is released too.
    const acquiredMeanwhile = this.leading;
    this.setLeading(false);
    if (!wasLeading && !acquiredMeanwhile) return;
    const c = this.o.clients;
    for (let attempt = 0; attempt < 3; attempt++) {
      const lease = await kubeCall(c, 'read lease for release', () => c.coordination.readNamespacedLease({ name: this.o.leaseName, namespace: this.namespace }));
      if (lease.spec?.holderIdentity !== this.o.identity) return;
      const now = this.o.clock();
      const body: V1Lease = {
        ...lease,
        spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(now), acquireTime: microTime(now) },
      };
      try {
        await kubeCall(c, 'release lease', () => c.coordination.replaceNamespacedLease({ name: this.o.leaseName, namespace: this.namespace, body }));
        return;
      } catch (err) {
        if (!isKubeCode(err, 'FP_KUBE_CONFLICT')) throw err;
      }
    }
  }
}
