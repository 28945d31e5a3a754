/**
 * The control-plane connection between the JobManager and a TaskManager: length-prefixed
 * msgpack messages (`u32 length | msgpack body`) over TCP. Either side may send one-way
 * messages or ask a request and await its answer; every wait has a timeout and honours an
 * AbortSignal, and a lost connection fails every pending request at once.
 */
import net from 'node:net';
import { Packr, Unpackr } from 'msgpackr';
import { FlowpilotError } from '../../common/errors.ts';
import type { RpcMessage } from './messages.ts';

/** Large enough for deployments that carry restored state and for snapshot acknowledgements. */
export const MAX_RPC_MESSAGE_BYTES = 1024 * 1024 * 1024;

export interface RpcEnvelope {
  /** Message type. */
  t: string;
  /** Request id, when an answer is expected. */
  id?: number;
  /** Id of the request this message answers. */
  re?: number;
  /** Error message of a failed request. */
  err?: string;
  [k: string]: unknown;
}

export type RpcHandler = (msg: RpcEnvelope) => unknown;

/** What may be sent: a typed control-plane message (messages.ts) or a raw envelope (replies, tests). */
export type Outgoing = RpcMessage | RpcEnvelope;

interface Pending {
  resolve(v: RpcEnvelope): void;
  reject(e: Error): void;
  cleanup(): void;
}

export class RpcConnection {
  readonly socket: net.Socket;
  private readonly packr = new Packr({ useRecords: false, moreTypes: true });
  private readonly unpackr = new Unpackr({ useRecords: false, moreTypes: true });
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private chunks: Buffer[] = [];
  private have = 0;
  /** Bytes needed before the pending frame is complete (0: unknown). */
  private need = 0;
  private closedWith: Error | null = null;
  private readonly closeListeners: Array<(err: Error) => void> = [];
  /** Answers requests and receives one-way messages; a returned value (or promise) is the answer. */
  handler: RpcHandler = () => undefined;

  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.onClose(err));
    socket.on('close', () => this.onClose(new FlowpilotError('FP_RPC_CLOSED', 'RPC connection closed')));
  }

  static connect(host: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<RpcConnection> {
    return new Promise<RpcConnection>((resolve, reject) => {
      const socket = net.connect({ host, port });
      const fail = (err: Error) => {
        cleanup();
        socket.destroy();
        reject(new FlowpilotError('FP_RPC_CONNECT', `cannot connect to ${host}:${port}: ${err.message}`, { cause: err }));
      };
      const onAbort = () => fail(new Error('aborted'));
      const timer = setTimeout(() => fail(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        socket.off('error', fail);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      socket.once('error', fail);
      socket.once('connect', () => {
        cleanup();
        resolve(new RpcConnection(socket));
      });
    });
  }

  get closed(): boolean {
    return this.closedWith !== null;
  }

  onClosed(listener: (err: Error) => void): void {
    if (this.closedWith) listener(this.closedWith);
    else this.closeListeners.push(listener);
  }

  send(msg: Outgoing): void {
    if (this.closedWith) throw this.closedWith;
    const body = this.packr.pack(msg);
    const head = Buffer.allocUnsafe(4);
    head.writeUInt32BE(body.length, 0);
    this.socket.cork();
    this.socket.write(head);
    this.socket.write(body);
    this.socket.uncork();
  }

  /** Sends a request and resolves with its answer, or rejects on error, timeout, abort or connection loss. */
  request(msg: Outgoing, timeoutMs: number, signal?: AbortSignal): Promise<RpcEnvelope> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const id = this.nextId++;
    return new Promise<RpcEnvelope>((resolve, reject) => {
      const onAbort = () => {
        p.cleanup();
        reject(new FlowpilotError('FP_RPC_ABORTED', `request ${msg.t} aborted`));
      };
      const timer = setTimeout(() => {
        p.cleanup();
        reject(new FlowpilotError('FP_RPC_TIMEOUT', `request ${msg.t} got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      const p: Pending = {
        resolve,
        reject,
        cleanup: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          this.pending.delete(id);
        },
      };
      this.pending.set(id, p);
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        this.send({ ...msg, id });
      } catch (err) {
        p.cleanup();
        reject(err as Error);
      }
    });
  }

  close(): void {
    this.socket.end();
    this.socket.destroySoon();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /**
   * Frames arrive in socket chunks (~64 KB). Chunks are only collected until the pending frame is
   * complete, then joined once: concatenating on every chunk would copy a large frame (a
   * checkpoint acknowledgement of tens of MB) quadratically and stall the event loop.
   */
  private onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.have += chunk.length;
    if (this.have < this.need) return;
    let buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.have);
    this.chunks = [];
    this.have = 0;
    this.need = 0;
    let off = 0;
    while (buf.length - off >= 4) {
      const len = buf.readUInt32BE(off);
      if (len > MAX_RPC_MESSAGE_BYTES) {
        this.socket.destroy(new FlowpilotError('FP_RPC_FRAME', `RPC message of ${len} bytes is too large`));
        return;
      }
      if (buf.length - off - 4 < len) {
        this.need = 4 + len;
        break;
      }
      const msg = this.unpackr.unpack(buf.subarray(off + 4, off + 4 + len)) as RpcEnvelope;
      off += 4 + len;
      this.dispatch(msg);
    }
    if (off < buf.length) {
      buf = Buffer.from(buf.subarray(off));
      this.chunks.push(buf);
      this.have = buf.length;
    }
  }

  private dispatch(msg: RpcEnvelope): void {
    if (msg.re !== undefined) {
      const p = this.pending.get(msg.re);
      if (!p) return;
      p.cleanup();
      if (msg.err !== undefined) p.reject(new FlowpilotError('FP_RPC_REMOTE', msg.err));
      else p.resolve(msg);
      return;
    }
    const id = msg.id;
    let result: unknown;
    try {
      result = this.handler(msg);
    } catch (err) {
      if (id !== undefined) this.reply(id, undefined, err);
      return;
    }
    if (id === undefined) {
      if (result instanceof Promise) result.catch(() => undefined);
      return;
    }
    Promise.resolve(result).then(
      (value) => this.reply(id, value, undefined),
      (err: unknown) => this.reply(id, undefined, err),
    );
  }

  private reply(id: number, value: unknown, err: unknown): void {
    if (this.closedWith) return;
    const body: RpcEnvelope = { t: 'reply', re: id };
    if (err !== undefined) body.err = err instanceof Error ? err.message : String(err);
    else if (value !== undefined && value !== null && typeof value === 'object') Object.assign(body, value);
    try {
      this.send(body);
    } catch {
      // connection went away; the asker sees that itself
    }
  }

  private onClose(err: Error): void {
    if (this.closedWith) return;
    this.closedWith = err instanceof FlowpilotError ? err : new FlowpilotError('FP_RPC_CLOSED', `RPC connection lost: ${err.message}`, { cause: err });
    const closed = this.closedWith;
    for (const p of [...this.pending.values()]) {
      p.cleanup();
      p.reject(closed);
    }
    for (const l of this.closeListeners.splice(0)) l(closed);
    this.socket.destroy();
  }
}

/** Listens for RPC connections. */
export async function listenRpc(host: string, port: number, onConnection: (conn: RpcConnection) => void): Promise<{ server: net.Server; port: number; close(): Promise<void> }> {
  const conns = new Set<RpcConnection>();
  const server = net.createServer((socket) => {
    const conn = new RpcConnection(socket);
    conns.add(conn);
    conn.onClosed(() => conns.delete(conn));
    onConnection(conn);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as net.AddressInfo).port;
  return {
    server,
    port: actual,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of conns) c.destroy();
        server.close(() => resolve());
      }),
  };
}
