/**
 * Event-time and processing-time timers of one keyed operator, as Flink's InternalTimerService:
 * a timer is (timestamp, key, namespace), registered at most once, kept per key group (so it is
 * snapshotted and redistributed with keyed state) and ordered in a min-heap per time domain.
 * Deleting marks the timer; the heap skips it when it reaches the top.
 */
import type { HeapKeyedStateBackend } from './keyed-backend.ts';

export type TimeDomain = 'EVENT_TIME' | 'PROCESSING_TIME';

export interface Timer {
  timestamp: number;
  key: unknown;
  keyGroup: number;
  namespace: number | string;
  domain: TimeDomain;
  deleted: boolean;
}

class TimerHeap {
  private readonly items: Timer[] = [];
  get size(): number {
    return this.items.length;
  }
  peek(): Timer | undefined {
    return this.items[0];
  }
  push(t: Timer): void {
    const a = this.items;
    a.push(t);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]!.timestamp <= t.timestamp) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = t;
  }
  pop(): Timer | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= a.length) break;
        const r = l + 1;
        const c = r < a.length && a[r]!.timestamp < a[l]!.timestamp ? r : l;
        if (a[c]!.timestamp >= last.timestamp) break;
        a[i] = a[c]!;
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}

function timerId(domain: TimeDomain, timestamp: number, key: unknown, ns: number | string): string {
  return `${domain === 'EVENT_TIME' ? 'e' : 'p'}|${timestamp}|${typeof key}:${String(key)}|${ns}`;
}

export class InternalTimerService {
  private readonly backend: HeapKeyedStateBackend;
  private readonly event = new TimerHeap();
  private readonly processing = new TimerHeap();
  /** Index: key group - range.start. */
  private readonly byGroup: Array<Map<string, Timer>> = [];

  constructor(backend: HeapKeyedStateBackend, sectionName = 'timers') {
    this.backend = backend;
    for (let kg = backend.range.start; kg <= backend.range.end; kg++) this.byGroup.push(new Map());
    backend.addSection(sectionName, {
      snapshot: (kg) => {
        const m = this.byGroup[kg - backend.range.start]!;
        if (m.size === 0) return undefined;
        return [...m.values()].map((t) => [t.domain === 'EVENT_TIME' ? 0 : 1, t.timestamp, t.key, t.namespace]);
      },
      restore: (kg, data) => {
        for (const [d, ts, key, ns] of data as Array<[number, number, unknown, number | string]>) {
          this.add(d === 0 ? 'EVENT_TIME' : 'PROCESSING_TIME', ts, key, kg, ns);
        }
      },
    });
  }

  /** Registers a timer for the backend's current key. Returns true when it is new. */
  register(domain: TimeDomain, timestamp: number, namespace: number | string = 0): boolean {
    return this.add(domain, timestamp, this.backend.currentKey, this.backend.currentKeyGroup, namespace);
  }

  private add(domain: TimeDomain, timestamp: number, key: unknown, keyGroup: number, namespace: number | string): boolean {
    const m = this.byGroup[keyGroup - this.backend.range.start]!;
    const id = timerId(domain, timestamp, key, namespace);
    if (m.has(id)) return false;
    const t: Timer = { timestamp, key, keyGroup, namespace, domain, deleted: false };
    m.set(id, t);
    (domain === 'EVENT_TIME' ? this.event : this.processing).push(t);
    return true;
  }

  delete(domain: TimeDomain, timestamp: number, namespace: number | string = 0): void {
    const m = this.byGroup[this.backend.slot]!;
    const id = timerId(domain, timestamp, this.backend.currentKey, namespace);
    const t = m.get(id);
    if (t === undefined) return;
    t.deleted = true;
    m.delete(id);
  }

  /** Earliest pending processing-time timer, or undefined. */
  nextProcessingTime(): number | undefined {
    return this.peekLive(this.processing)?.timestamp;
  }

  get numEventTimeTimers(): number {
    return this.event.size;
  }

  /** Pops every timer of `domain` due at `time`, sets the current key, and calls `fire` for it. */
  advance(domain: TimeDomain, time: number, fire: (t: Timer) => void): void {
    const heap = domain === 'EVENT_TIME' ? this.event : this.processing;
    for (;;) {
      const t = this.peekLive(heap);
      if (t === undefined || t.timestamp > time) return;
      heap.pop();
      this.byGroup[t.keyGroup - this.backend.range.start]!.delete(timerId(t.domain, t.timestamp, t.key, t.namespace));
      this.backend.setCurrentKeyInGroup(t.key, t.keyGroup);
      fire(t);
    }
  }

  private peekLive(heap: TimerHeap): Timer | undefined {
    let t = heap.peek();
    while (t !== undefined && t.deleted) {
      heap.pop();
      t = heap.peek();
    }
    return t;
  }
}
