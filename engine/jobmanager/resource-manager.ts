/**
 * The JobManager's view of its TaskManagers: registration, heartbeats with their metric
 * snapshots, slots and who holds them. A TaskManager is declared lost when its connection
 * drops or when it has not sent a heartbeat within heartbeat.timeout; listeners (the job
 * masters) then fail over the subtasks it ran.
 */
import type { Logger } from '../../common/log.ts';
import type { RpcConnection } from '../rpc/connection.ts';
import type { MetricSnapshot, RegisterMessage } from '../rpc/messages.ts';

export interface SlotRef {
  taskManagerId: string;
  slot: number;
}

export interface RegisteredTaskManager {
  id: string;
  conn: RpcConnection;
  host: string;
  dataPort: number;
  metricsPort: number;
  registeredAt: number;
  lastHeartbeat: number;
  hardware: RegisterMessage['hardware'];
  heapMax: number;
  /** Job id holding each slot, or null when free. */
  slots: Array<string | null>;
  metrics: MetricSnapshot;
}

export type LostListener = (tm: RegisteredTaskManager, reason: string) => void;

export class ResourceManager {
  readonly taskManagers = new Map<string, RegisteredTaskManager>();
  private readonly lostListeners: LostListener[] = [];
  private readonly registeredListeners: Array<(tm: RegisteredTaskManager) => void> = [];
  private readonly log: Logger;
  private readonly timeoutMs: number;
  private readonly checker: NodeJS.Timeout;

  constructor(log: Logger, heartbeatTimeoutMs: number, checkIntervalMs: number) {
    this.log = log;
    this.timeoutMs = heartbeatTimeoutMs;
    this.checker = setInterval(() => this.checkHeartbeats(), Math.max(10, Math.min(checkIntervalMs, heartbeatTimeoutMs / 2)));
    this.checker.unref();
  }

  onLost(l: LostListener): void {
    this.lostListeners.push(l);
  }

  onRegistered(l: (tm: RegisteredTaskManager) => void): void {
    this.registeredListeners.push(l);
  }

  register(conn: RpcConnection, msg: RegisterMessage): RegisteredTaskManager {
    const previous = this.taskManagers.get(msg.taskManagerId);
    if (previous) this.lose(previous, 'TaskManager registered again');
    const now = Date.now();
    const tm: RegisteredTaskManager = {
      id: msg.taskManagerId,
      conn,
      host: msg.host,
      dataPort: msg.dataPort,
      metricsPort: msg.metricsPort,
      registeredAt: now,
      lastHeartbeat: now,
      hardware: msg.hardware,
      heapMax: msg.heapMax,
      slots: new Array<string | null>(msg.slots).fill(null),
      metrics: { taskManager: {}, tasks: [] },
    };
    this.taskManagers.set(tm.id, tm);
    conn.onClosed((err) => {
      if (this.taskManagers.get(tm.id) === tm) this.lose(tm, `connection to TaskManager ${tm.id} was lost: ${err.message}`);
    });
    this.log.info({ taskManagerId: tm.id, slots: msg.slots }, 'TaskManager registered');
    for (const l of this.registeredListeners) l(tm);
    return tm;
  }

  heartbeat(taskManagerId: string, metrics: MetricSnapshot): boolean {
    const tm = this.taskManagers.get(taskManagerId);
    if (!tm) return false;
    tm.lastHeartbeat = Date.now();
    tm.metrics = metrics;
    return true;
  }

  get totalSlots(): number {
    let n = 0;
    for (const tm of this.taskManagers.values()) n += tm.slots.length;
    return n;
  }

  get availableSlots(): number {
    let n = 0;
    for (const tm of this.taskManagers.values()) for (const s of tm.slots) if (s === null) n++;
    return n;
  }

  /** Takes `count` free slots for `jobId`, spread over TaskManagers, or returns null when there are too few. */
  allocate(jobId: string, count: number): SlotRef[] | null {
    if (this.availableSlots < count) return null;
    const free = [...this.taskManagers.values()]
      .sort((a, b) => a.id.localeCompare(b.id))
      .map((tm) => ({ tm, slots: tm.slots.map((s, i) => (s === null ? i : -1)).filter((i) => i >= 0) }));
    const out: SlotRef[] = [];
    for (let round = 0; out.length < count; round++) {
      for (const f of free) {
        if (out.length >= count) break;
        const slot = f.slots[round];
        if (slot === undefined) continue;
        f.tm.slots[slot] = jobId;
        out.push({ taskManagerId: f.tm.id, slot });
      }
    }
    return out;
  }

  releaseSlots(slots: SlotRef[]): void {
    for (const s of slots) {
      const tm = this.taskManagers.get(s.taskManagerId);
      if (tm && s.slot < tm.slots.length) tm.slots[s.slot] = null;
    }
  }

  private checkHeartbeats(): void {
    const now = Date.now();
    for (const tm of [...this.taskManagers.values()]) {
      if (now - tm.lastHeartbeat > this.timeoutMs) {
        this.lose(tm, `heartbeat of TaskManager with id ${tm.id} timed out after ${this.timeoutMs} ms`);
      }
    }
  }

  private lose(tm: RegisteredTaskManager, reason: string): void {
    if (this.taskManagers.get(tm.id) !== tm) return;
    this.taskManagers.delete(tm.id);
    this.log.warn({ taskManagerId: tm.id, reason }, 'TaskManager lost');
    tm.conn.destroy();
    for (const l of this.lostListeners) l(tm, reason);
  }

  stop(): void {
    clearInterval(this.checker);
    for (const tm of this.taskManagers.values()) tm.conn.destroy();
  }
}
