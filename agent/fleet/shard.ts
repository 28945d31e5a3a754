/**
 * Fleet sharding over coordination.k8s.io/v1 Leases: one Lease per replica, none per job, so a
 * round costs one list and one write however many jobs the fleet has.
 *
 * - Membership: each replica renews its own Lease `<fleet>-member-<identity>` every `renewMs`,
 *   as an update carrying the resourceVersion it read. The members are the member Leases held
 *   by their replica (holderIdentity not '').
 * - Ownership: rendezvous hashing of the resource UID over the members: each replica owns a
 *   stable subset; a member joining takes only its own share, a member leaving moves only its own.
 * - Guard (a job is never acted on by two replicas): a replica acts on the jobs it owns by hash
 *   while (1) its last round's list and member renew succeeded less than the renew deadline (2/3
 *   of the lease duration) ago, counted from when that list was SENT, and (2) it is not waiting
 *   out its join. Two rules make that exclusive:
 *   - Eviction: a member whose Lease has not changed for a whole lease duration on our clock
 *     (client-go's rule: no trust in another node's clock; a change is timed when the list that
 *     shows it returns) stays a member, owning its jobs, until a replica EVICTS it: an update of
 *     its Lease to holder '' carrying the resourceVersion observed. The update succeeds only if
 *     the member did not renew since, so its last successful renew was sent before we first saw
 *     it, and it stopped acting a renew deadline after that, before the eviction. A member that
 *     finds its Lease evicted (or gets a 409 renewing) stops acting at once and joins again.
 *   - Join: a replica that creates its Lease or takes it back after an eviction acts only one
 *     lease duration after that write returned. Every other replica's view without it came from
 *     a list the server answered before the write, so their acting on its share ended a renew
 *     deadline after that list was sent, before the joiner's wait ends.
 *   The same wait follows a process start (even under an identity whose Lease is still held: a
 *   previous incarnation may have died during its own wait) and a round that found us evicted or
 *   got a 409 renewing. A renew that merely failed (timeout) lets the guard lapse at its deadline;
 *   the next renew that succeeds with the resourceVersion listed proves nobody evicted us, so
 *   acting resumes at once.
 * - The intent journal of each job (a ConfigMap written with the resourceVersion it read) is the
 *   second guard: two writers of one job's action record get a conflict, not two actions.
 * - Takeover timing: after each round the next one is scheduled at the earlier of the renew
 *   period and the moment the first live member's Lease would turn stale on our clock, so a dead
 *   replica's jobs are taken at its Lease's expiry plus one round (list, eviction), not at the
 *   next periodic tick after it. A renewed Lease moves its expiry a duration ahead, so live
 *   replicas cost no extra rounds.
 */
import { createHash } from 'node:crypto';
import type { V1Lease, V1LeaseList } from '@kubernetes/client-node';
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
  /** Membership changes of note: we evicted a member, we found ourselves evicted, we joined. */
  onNotice?: (what: 'evicted' | 'out' | 'joined', member: string) => void;
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
  private readonly o: Required<Omit<FleetShardOptions, 'onError' | 'onRound' | 'onTimed' | 'onNotice'>> & FleetShardOptions;
  /** member Lease name -> its last (holder, renewTime) and when we first saw it (our clock, list returned) */
  private readonly seen = new Map<string, { holder: string; renew: string; at: number }>();
  private members: string[] = [];
  /**
   * ownerOf's answers for the current `members` (the fleet asks it per job on every reconcile, status
   * and decision; a rendezvous hash is one SHA-256 per member): dropped whenever the view changes.
   */
  private readonly owners = new Map<string, string | null>();
  /** Our clock until which we may act (send time of the last successful round's list + the renew deadline). */
  private validUntil = -Infinity;
  /** Our clock from which we may act after (re)joining; Infinity while not joined. */
  private actFrom = Infinity;
  /** Our member Lease as our last successful write left it (renewed with its resourceVersion), or null: join next round. */
  private ownRv: V1Lease | null = null;
  private acquiredAt = 0;
  /** Bumped by stop(): a round that was in flight then changes nothing when it ends. */
  private generation = 0;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  /** Our clock when the first live member's Lease turns stale (see the header), or Infinity. */
  private nextStaleAt = Infinity;
  /** The longest round so far, ms (list, member renew, evictions). */
  maxRoundMs = 0;
  /** Members this replica evicted (their Leases taken to holder ''), for tests and logs. */
  evictions = 0;

  constructor(o: FleetShardOptions) {
    this.o = { fleet: 'flowpilot', leaseDurationSeconds: 15, renewMs: 2000, clock: Date.now, ...o };
  }

  private get durationMs(): number {
    return this.o.leaseDurationSeconds * 1000;
  }

  private get deadlineMs(): number {
    return Math.round(this.durationMs * 2 / 3);
  }

  memberLease(id = this.o.identity): string {
    return `${this.o.fleet}-member-${id}`;
  }

  liveMembers(): string[] {
    return [...this.members];
  }

  /** The member the hash assigns this job to, in our current view. */
  ownerOf(uid: string): string | null {
    let owner = this.owners.get(uid);
    if (owner === undefined) {
      owner = rendezvousOwner(this.members, uid);
      // (bounded: cleared with every change of the view, and at most one entry per job asked about)
      if (this.owners.size >= 100_000) this.owners.clear();
      this.owners.set(uid, owner);
    }
    return owner;
  }

  /** Whether this replica may act now at all: joined and waited out, last round within the deadline. */
  guardHolds(): boolean {
    const now = this.o.clock();
    return this.running && now >= this.actFrom && now < this.validUntil;
  }

  /** Whether this replica may act on the job now: the guard holds and the job is ours by hash. */
  acting(uid: string): boolean {
    return this.guardHolds() && this.ownerOf(uid) === this.o.identity;
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
      // the periodic renew, or earlier when a member's Lease turns stale before then (+1 ms: the
      // round then reads the clock after the expiry, so the check `>= durationMs` holds). An
      // expiry already past (a failed round) waits the period.
      // The period runs from round start to round start, so a slow round does not delay the renews after it.
      const now = this.o.clock();
      const period = Math.max(0, t0 + this.o.renewMs - now);
      const left = this.nextStaleAt - now;
      const wait = left > 0 ? Math.min(period, left + 1) : period;
      if (this.running) this.timer = setTimeout(() => void tick(), wait);
    };
    void tick();
  }

  /** Stops without touching any Lease: what a crash looks like to the other replicas. */
  stop(): void {
    this.running = false;
    // a round in flight leaves no state behind (its writes may still land, as after a crash)
    this.generation++;
    clearTimeout(this.timer);
    this.out();
  }

  /** Stops acting at once and forgets the join: the next round joins again (and waits). */
  private out(): void {
    this.validUntil = -Infinity;
    this.actFrom = Infinity;
    this.ownRv = null;
  }

  /**
   * One round: read all Leases and, at the same time, renew ours with the resourceVersion of our
   * last write (two requests in parallel: a round takes one request's time, not two); join when
   * we hold no Lease; evict members unrenewed for a lease duration; recompute the members.
   */
  async round(): Promise<void> {
    const c = this.o.clients;
    const mine = this.memberLease();
    const gen = this.generation;
    const listSentAt = this.o.clock();
    const held = this.ownRv;
    const renewing = held === null ? null : this.write(mine, held, listSentAt, 'renew').then(
      (ok) => ({ ok, err: null as unknown }), (err: unknown) => ({ ok: false, err }));
    let list: V1LeaseList;
    try {
      list = await kubeCall(c, 'list leases', () => c.coordination.listNamespacedLease({ namespace: c.namespace }));
    } catch (err) {
      const r = await renewing;
      if (r !== null && !r.ok && r.err === null) this.out();
      throw err;
    }
    if (gen !== this.generation) return;
    // after the list returned: every renew it shows was applied before now (see the header)
    const now = this.o.clock();
    this.o.onTimed?.('list', now - listSentAt);
    const renewed = await renewing;
    const prefix = `${this.o.fleet}-member-`;
    const leases = list.items.filter((l) => (l.metadata?.name ?? '').startsWith(prefix));
    for (const l of leases) {
      const name = l.metadata!.name!;
      const holder = l.spec?.holderIdentity ?? '';
      const renew = renewOf(l);
      const prev = this.seen.get(name);
      if (!prev || prev.holder !== holder || prev.renew !== renew) this.seen.set(name, { holder, renew, at: now });
    }

    // 409: evicted since our last write (out; the join follows). Other errors: the guard lapses at its deadline.
    if (renewed !== null && !renewed.ok) {
      if (renewed.err === null) {
        this.out();
        this.o.onNotice?.('out', this.o.identity);
      } else this.o.onError?.(renewed.err);
    }
    let fresh = renewed?.ok === true;
    const own = leases.find((l) => l.metadata?.name === mine);
    // Our Lease evicted (or never made): out at once, and join with the resourceVersion listed.
    if (own?.spec?.holderIdentity !== this.o.identity) {
      if (this.ownRv !== null) this.o.onNotice?.('out', this.o.identity);
      this.out();
    }
    if (this.ownRv === null) fresh = await this.write(mine, own, this.o.clock(), 'join');
    if (gen !== this.generation) return;
    // a join, the first write since this process started (or since stop()), or one after being out: wait a lease duration
    if (fresh && this.actFrom === Infinity) {
      this.actFrom = this.o.clock() + this.durationMs;
      this.o.onNotice?.('joined', this.o.identity);
    }

    const members = new Set<string>([this.o.identity]);
    let nextStale = Infinity;
    const stale: V1Lease[] = [];
    for (const l of leases) {
      const name = l.metadata!.name!;
      if (name === mine || (l.spec?.holderIdentity ?? '') === '') continue;
      members.add(name.slice(prefix.length));
      const expiry = this.seen.get(name)!.at + this.durationMs;
      if (expiry > now) nextStale = Math.min(nextStale, expiry);
      else stale.push(l);
    }
    // A stale member stays a member (its jobs unowned here) until our eviction succeeds.
    await Promise.all(stale.map(async (l) => {
      const name = l.metadata!.name!;
      try {
        if (await this.write(name, l, this.o.clock(), 'evict')) {
          members.delete(name.slice(prefix.length));
          this.evictions++;
          this.o.onNotice?.('evicted', name.slice(prefix.length));
        } else if (await this.evictedMeanwhile(name)) members.delete(name.slice(prefix.length));
      } catch (err) {
        this.o.onError?.(err);
      }
    }));
    if (gen !== this.generation) return;
    // The view and the guard's deadline change together: acting on this view is bounded by when its list was sent.
    const view = [...members].sort();
    if (view.join('\0') !== this.members.join('\0')) this.owners.clear();
    this.members = view;
    if (fresh && this.ownRv !== null) this.validUntil = listSentAt + this.deadlineMs;
    this.nextStaleAt = nextStale;
  }

  /**
   * After our eviction of a stale member got a 409: read its Lease again. Another replica's eviction
   * that won (holder '') takes the member out of this round's view, as ours would have: that
   * eviction's success proves the same thing ours would (the member had not renewed since it was
   * seen). Without this the view kept the dead member until our next periodic round, one renew
   * period later (CI saw the takeover run 174 ms past its bound). A member that renewed instead is
   * timed as seen now, so it stays a member for a lease duration more.
   */
  private async evictedMeanwhile(name: string): Promise<boolean> {
    const c = this.o.clients;
    const l = await kubeCall(c, `read lease ${name}`, () => c.coordination.readNamespacedLease({ name, namespace: c.namespace }));
    const holder = l.spec?.holderIdentity ?? '';
    if (holder === '') return true;
    const renew = renewOf(l);
    const prev = this.seen.get(name);
    if (!prev || prev.holder !== holder || prev.renew !== renew) this.seen.set(name, { holder, renew, at: this.o.clock() });
    return false;
  }

  /**
   * Creates or updates (with the resourceVersion read) a member Lease: ours held by us (renew,
   * join) or another's released to holder '' (evict). False on a conflict (409: AlreadyExists or Conflict).
   */
  private async write(name: string, prev: V1Lease | undefined, now: number, how: 'renew' | 'join' | 'evict'): Promise<boolean> {
    const c = this.o.clients;
    const gen = this.generation;
    const body: V1Lease = {
      apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
      metadata: { name, namespace: c.namespace, ...(prev?.metadata?.resourceVersion ? { resourceVersion: prev.metadata.resourceVersion } : {}) },
      spec: {
        holderIdentity: how === 'evict' ? '' : this.o.identity, leaseDurationSeconds: this.o.leaseDurationSeconds,
        renewTime: microTime(now), acquireTime: microTime(how === 'renew' ? this.acquiredAt : now),
      },
    };
    const t0 = this.o.clock();
    try {
      const written = prev === undefined
        ? await kubeCall(c, `create lease ${name}`, () => c.coordination.createNamespacedLease({ namespace: c.namespace, body }))
        : await kubeCall(c, `update lease ${name}`, () => c.coordination.replaceNamespacedLease({ name, namespace: c.namespace, body }));
      if (how !== 'evict' && gen === this.generation) {
        // the next renew goes with this resourceVersion, in parallel with the round's list
        this.ownRv = written;
        if (how === 'join') this.acquiredAt = now;
      }
      return true;
    } catch (err) {
      if (isKubeCode(err, 'FP_KUBE_CONFLICT')) {
        if (how !== 'evict' && gen === this.generation) this.ownRv = null;
        return false;
      }
      throw err;
    } finally {
      this.o.onTimed?.('write', this.o.clock() - t0);
    }
  }
}
