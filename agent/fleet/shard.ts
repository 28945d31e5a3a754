/**
 * Fleet sharding over coordination.k8s.io/v1 Leases.
 *
 * - Membership: each replica renews its own Lease `<fleet>-member-<identity>` every `renewMs`.
 *   Members are the member Leases whose renewTime changed within leaseDurationSeconds as
 *   observed on OUR clock (client-go's rule: no trust in another node's clock).
 * - Ownership: rendezvous hashing of the resource UID over the members: each replica owns a
 *   stable subset, and a member leaving moves only its own jobs.
 * - Guard (the per-job Lease): before acting on a job the owner holds the Lease
 *   `<fleet>-job-<uid>`; it takes it only when free or when the holder has not renewed it for
 *   a lease duration on our clock, with an update carrying the resourceVersion read (two
 *   takers: one 409). A holder stops acting when its own last renew is older than the renew
 *   deadline (2/3 of the duration), so a taker (who waited a whole duration after the last
 *   renew it saw) never overlaps it. The deadline is per job Lease, from that Lease's own renew:
 *   a held Lease is rewritten only when its renew is older than about a third of the duration
 *   (spread by uid hash), not every round, so a round's writes do not grow with rounds per renew
 *   and a late round stops no job whose Lease is still within its deadline. A replica that is no longer the hash owner stops acting at
 *   once and releases the Lease (holder ''), so the new owner takes it on its next round.
 * - Every round lists all Leases once, so a dead replica's member and job Leases are observed
 *   unchanged from the same time.
 * - Takeover timing: a Lease's last change is timed when the list that shows it RETURNS (the
 *   renew was applied before the server answered, so "a whole duration unrenewed on our clock"
 *   holds strictly, even when a list takes seconds on a loaded host). After each round the next
 *   one is scheduled at the earlier of the renew period and the moment the first foreign Lease
 *   that matters (a live member's, or a held Lease of a job we own) would turn stale on our clock:
 *   a dead replica's jobs are taken at its Leases' expiry plus one round's work, not at the next
 *   periodic tick after it. A renewed Lease moves its expiry a duration ahead, so live replicas
 *   cost no extra rounds.
 */
import { createHash } from 'node:crypto';
import type { V1Lease } from '@kubernetes/client-node';
import { kubeCall, isKubeCode, type KubeClients } from '../kube/client.ts';
import { microTime } from '../kube/microtime.ts';

export interface FleetShardOptions {
  clients: KubeClients;
  identity: string;
  fleet?: string;
  leaseDurationSeconds?: number;
  renewMs?: number;
  clock?: () => number;
  onError?: (err: unknown) => void;
  /** Called after every round (ownership may have changed): the fleet manager reconciles then. */
  onRound?: () => void;
  /** How long a round, a Lease list or a Lease write took (ms): the fleet's round metrics. */
  onTimed?: (what: ShardTiming, ms: number) => void;
}

export type ShardTiming = 'round' | 'list' | 'write';

/** Rendezvous (highest random weight) hashing: the member with the highest hash of (member, key). */
export function rendezvousOwner(members: readonly string[], key: string): string | null {
  let best: string | null = null;
  let bestW = -1n;
  for (const m of members) {
    const w = createHash('sha256').update(m).update('\0').update(key).digest().readBigUInt64BE(0);
    if (w > bestW || (w === bestW && best !== null && m < best)) {
      best = m;
      bestW = w;
    }
  }
  return best;
}

function renewOf(l: V1Lease): string {
  const r = l.spec?.renewTime as unknown;
  return r === undefined ? '' : r instanceof Date ? r.toISOString() : String(r);
}

export class FleetShard {
  private readonly o: Required<Omit<FleetShardOptions, 'onError' | 'onRound' | 'onTimed'>> & FleetShardOptions;
  private readonly seen = new Map<string, { holder: string; renew: string; at: number }>();
  private members: string[] = [];
  private jobs = new Set<string>();
  /** uid -> when we last renewed its job Lease */
  private held = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  /** Our clock when the first watched foreign Lease turns stale (see the header), or Infinity. */
  private nextStaleAt = Infinity;
  /** The longest round so far, ms (list + member renew + job Leases). */
  maxRoundMs = 0;

  constructor(o: FleetShardOptions) {
    this.o = { fleet: 'flowpilot', leaseDurationSeconds: 15, renewMs: 2000, clock: Date.now, ...o };
  }

  private get durationMs(): number {
    return this.o.leaseDurationSeconds * 1000;
  }

  private get deadlineMs(): number {
    return Math.round(this.durationMs * 2 / 3);
  }

  /**
   * The age at which a held job Lease is renewed: about a third of the lease duration, lowered by
   * up to a quarter by the uid's hash so renewals taken in one round spread over the next rounds.
   * Renewed at that age on the next round, a Lease keeps acting until 2/3 of the duration, so a
   * round may be late by a third of the duration before the job stops acting.
   */
  private renewAfterMs(uid: string): number {
    const frac = createHash('sha256').update(uid).digest().readUInt16BE(0) / 65536;
    return Math.round(this.durationMs / 3 * (1 - frac / 4));
  }

  memberLease(id = this.o.identity): string {
    return `${this.o.fleet}-member-${id}`;
  }

  jobLease(uid: string): string {
    return `${this.o.fleet}-job-${uid}`;
  }

  /** The resource UIDs this replica should consider (from discovery). */
  setJobs(uids: Iterable<string>): void {
    this.jobs = new Set(uids);
  }

  liveMembers(): string[] {
    return [...this.members];
  }

  /** The member the hash assigns this job to, in our current view. */
  ownerOf(uid: string): string | null {
    return rendezvousOwner(this.members, uid);
  }

  /** Whether this replica may act on the job now: hash owner, holding its Lease, renewed within the deadline. */
  acting(uid: string): boolean {
    if (!this.running) return false;
    const now = this.o.clock();
    const at = this.held.get(uid);
    return at !== undefined && now - at < this.deadlineMs && this.ownerOf(uid) === this.o.identity;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const tick = async (): Promise<void> => {
      if (!this.running) return;
      const t0 = this.o.clock();
      try {
        await this.round();
        const ms = this.o.clock() - t0;
        this.maxRoundMs = Math.max(this.maxRoundMs, ms);
        this.o.onTimed?.('round', ms);
      } catch (err) {
        this.o.onError?.(err);
      }
      if (this.running) this.o.onRound?.();
      // the periodic renew, or earlier when a watched Lease turns stale before then (+1 ms: the
      // round then reads the clock after the expiry, so the check `>= durationMs` holds). An
      // expiry already past (a failed round) waits the period: no busy loop.
      const left = this.nextStaleAt - this.o.clock();
      const wait = left > 0 ? Math.min(this.o.renewMs, left + 1) : this.o.renewMs;
      if (this.running) this.timer = setTimeout(() => void tick(), wait);
    };
    void tick();
  }

  /** Stops without touching any Lease: what a crash looks like to the other replicas. */
  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
    this.held.clear();
  }

  /** One round: renew our member Lease, read all Leases, recompute members, take/renew/release job Leases. */
  async round(): Promise<void> {
    const c = this.o.clients;
    const ns = c.namespace;
    const listAt = this.o.clock();
    const list = await kubeCall(c, 'list leases', () => c.coordination.listNamespacedLease({ namespace: ns }));
    this.o.onTimed?.('list', this.o.clock() - listAt);
    // after the list returned: every renew it shows was applied before now (see the header)
    const now = this.o.clock();
    let nextStale = Infinity;
    const watch = (name: string): void => {
      const at = this.seen.get(name)!.at + this.durationMs;
      if (at > now) nextStale = Math.min(nextStale, at);
    };
    const byName = new Map(list.items.map((l) => [l.metadata?.name ?? '', l]));
    for (const [name, l] of byName) {
      const holder = l.spec?.holderIdentity ?? '';
      const renew = renewOf(l);
      const prev = this.seen.get(name);
      if (!prev || prev.holder !== holder || prev.renew !== renew) this.seen.set(name, { holder, renew, at: now });
    }
    await this.write(this.memberLease(), byName.get(this.memberLease()), this.o.clock());
    const prefix = `${this.o.fleet}-member-`;
    const members = new Set<string>([this.o.identity]);
    for (const [name, l] of byName) {
      if (!name.startsWith(prefix) || name === this.memberLease()) continue;
      const s = this.seen.get(name)!;
      if ((l.spec?.holderIdentity ?? '') !== '' && now - s.at < this.durationMs) {
        members.add(name.slice(prefix.length));
        watch(name);
      }
    }
    this.members = [...members].sort();
    const step = async (uid: string): Promise<void> => {
      const name = this.jobLease(uid);
      const lease = byName.get(name);
      const mine = this.jobs.has(uid) && this.ownerOf(uid) === this.o.identity;
      if (!mine) {
        if (this.held.delete(uid) && lease?.spec?.holderIdentity === this.o.identity) await this.write(name, lease, this.o.clock(), true);
        return;
      }
      const holder = lease?.spec?.holderIdentity ?? '';
      const at = this.held.get(uid);
      // held and ours, renewed recently: no write this round (the renewal cost is per renew period, not per round)
      if (at !== undefined && holder === this.o.identity && now - at < this.renewAfterMs(uid)) return;
      const free = lease === undefined || holder === '' || holder === this.o.identity || now - this.seen.get(name)!.at >= this.durationMs;
      if (!free) {
        this.held.delete(uid);
        watch(name);
        return;
      }
      // the time before the write is sent: the holder's own view of its renew is never later than the server's
      const sentAt = this.o.clock();
      if (await this.write(name, lease, sentAt)) this.held.set(uid, sentAt);
      else this.held.delete(uid);
    };
    const todo = [...new Set([...this.jobs, ...this.held.keys()])];
    const workers = Array.from({ length: Math.min(16, todo.length) }, async () => {
      for (let uid = todo.pop(); uid !== undefined; uid = todo.pop()) await step(uid);
    });
    await Promise.all(workers);
    this.nextStaleAt = nextStale;
  }

  /** Creates or updates (with the resourceVersion read) a Lease held by us, or released. False on a conflict (409: AlreadyExists or Conflict). */
  private async write(name: string, prev: V1Lease | undefined, now: number, release = false): Promise<boolean> {
    const c = this.o.clients;
    const body: V1Lease = {
      apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
      metadata: { name, namespace: c.namespace, ...(prev?.metadata?.resourceVersion ? { resourceVersion: prev.metadata.resourceVersion } : {}) },
      spec: { holderIdentity: release ? '' : this.o.identity, leaseDurationSeconds: this.o.leaseDurationSeconds, renewTime: microTime(now), acquireTime: microTime(now) },
    };
    const t0 = this.o.clock();
    try {
      if (prev === undefined) await kubeCall(c, `create lease ${name}`, () => c.coordination.createNamespacedLease({ namespace: c.namespace, body }));
      else await kubeCall(c, `update lease ${name}`, () => c.coordination.replaceNamespacedLease({ name, namespace: c.namespace, body }));
      return true;
    } catch (err) {
      if (isKubeCode(err, 'FP_KUBE_CONFLICT')) return false;
      throw err;
    } finally {
      this.o.onTimed?.('write', this.o.clock() - t0);
    }
  }
}
