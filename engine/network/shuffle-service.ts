/**
 * A TaskManager's data plane. It owns every receiving channel in this process (created by
 * whichever side arrives first, so deployment order does not matter), serves data connections
 * from other TaskManagers, and keeps one pooled outgoing connection per remote TaskManager.
 * Same-process channels are wired in memory with the same credit rule as remote ones.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Packr, Unpackr } from 'msgpackr';
import { FlowpilotError } from '../../common/errors.ts';
import type { Logger } from '../../common/log.ts';
import {
  ENTRY_BARRIER,
  ENTRY_END,
  ENTRY_RECORDS,
  ENTRY_WATERMARK,
  InputChannel,
  eventEntry,
  type ChannelEntry,
  type ChannelTransport,
  type OutputChannel,
} from './channel.ts';
import { BatchEncoder } from './batch-codec.ts';
import {
  FRAME_BARRIER,
  FRAME_BATCH,
  FRAME_BATCH_SIZE,
  FRAME_CREDIT,
  FRAME_END,
  FRAME_FAIL,
  FRAME_OPEN,
  FRAME_WATERMARK,
  FrameDecoder,
  frame,
  frameHeader,
  numberFrame,
} from './frames.ts';

export interface ShuffleServiceOptions {
  host: string;
  port: number;
  /** Entries a receiving channel can hold (its credit). */
  capacity: number;
  log: Logger;
}

/** The id of a channel: execution attempt / consumer vertex / input index / producer subtask / consumer subtask. */
export function channelKey(executionId: string, consumerVertexId: string, inputIndex: number, producerSubtask: number, consumerSubtask: number): string {
  return `${executionId}/${consumerVertexId}/${inputIndex}/${producerSubtask}/${consumerSubtask}`;
}

export class ShuffleService {
  private readonly opts: ShuffleServiceOptions;
  private readonly inputs = new Map<string, InputChannel>();
  /** Recently released execution attempts, so late OPEN frames for them create nothing that lingers. */
  private readonly released = new Set<string>();
  private readonly clients = new Map<string, DataClient>();
  private readonly serverConns = new Set<net.Socket>();
  private server: net.Server | null = null;
  port = 0;

  constructor(opts: ShuffleServiceOptions) {
    this.opts = opts;
  }

  async start(): Promise<number> {
    const server = net.createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this.port;
  }

  /** The receiving channel for `key`, created on first use. */
  inputChannel(key: string): InputChannel {
    let ch = this.inputs.get(key);
    if (!ch) {
      ch = new InputChannel(key, this.opts.capacity);
      if (this.released.has(key.slice(0, key.indexOf('/')))) return ch; // detached: never stored
      this.inputs.set(key, ch);
    }
    return ch;
  }

  /** Wires an output channel to a consumer in this process. */
  connectLocal(out: OutputChannel): void {
    const input = this.inputChannel(out.key);
    out.connect({
      send(entry: ChannelEntry): number {
        input.push(entry);
        return 0;
      },
      close() {},
    });
    input.attachProducer((n) => out.addCredit(n), (size) => out.setBatchLimit(size));
  }

  /** Wires an output channel to a consumer in the TaskManager whose data server is `address` (host:port). */
  connectRemote(out: OutputChannel, address: string): void {
    let client = this.clients.get(address);
    if (!client || client.closed) {
      client = new DataClient(address, this.opts.log);
      this.clients.set(address, client);
    }
    client.open(out);
  }

  /** Drops every channel of one execution attempt (after cancel, failure or finish). */
  releaseExecution(executionId: string): void {
    const prefix = `${executionId}/`;
    this.released.add(executionId);
    if (this.released.size > 1024) this.released.delete(this.released.values().next().value!);
    for (const [key, ch] of this.inputs) {
      if (key.startsWith(prefix)) {
        ch.release();
        this.inputs.delete(key);
      }
    }
    for (const client of this.clients.values()) client.release(prefix);
  }

  get numInputChannels(): number {
    return this.inputs.size;
  }

  /** Receive buffers (channel credit) in total and in use, for Status.Shuffle.Netty.* gauges. */
  bufferStats(): { total: number; used: number } {
    let total = 0;
    let used = 0;
    for (const ch of this.inputs.values()) {
      total += ch.capacity;
      used += ch.queued;
    }
    return { total, used };
  }

  async close(): Promise<void> {
    for (const c of this.clients.values()) c.destroy();
    for (const s of this.serverConns) s.destroy();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    this.serverConns.add(socket);
    const byId = new Map<number, InputChannel>();
    const ended = new Set<number>();
    const unpackr = new Unpackr({ useRecords: true });
    // Credits granted in one turn of the event loop go out together, in one write.
    const credits = new Map<number, number>();
    let flushScheduled = false;
    const flushCredits = () => {
      flushScheduled = false;
      if (socket.destroyed || credits.size === 0) return credits.clear();
      const frames: Buffer[] = [];
      for (const [id, n] of credits) frames.push(numberFrame(FRAME_CREDIT, id, n));
      credits.clear();
      socket.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames));
    };
    const grant = (id: number, n: number) => {
      credits.set(id, (credits.get(id) ?? 0) + n);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flushCredits);
      }
    };
    const decoder = new FrameDecoder((type, id, payload) => {
      if (type === FRAME_OPEN) {
        const ch = this.inputChannel(payload.toString('utf8'));
        byId.set(id, ch);
        ch.attachProducer((n) => grant(id, n), (size) => {
          if (!socket.destroyed) socket.write(numberFrame(FRAME_BATCH_SIZE, id, size));
        });
        return;
      }
      const ch = byId.get(id);
      if (!ch) return; // released execution: late frames are dropped
      switch (type) {
        case FRAME_BATCH:
          ch.push({ kind: ENTRY_RECORDS, records: null, bytes: payload, value: 0 });
          break;
        case FRAME_WATERMARK:
          ch.push(eventEntry(ENTRY_WATERMARK, payload.readDoubleBE(0)));
          break;
        case FRAME_END:
          ended.add(id);
          ch.push(eventEntry(ENTRY_END));
          break;
        case FRAME_BARRIER: {
          const b = unpackr.unpack(payload) as { id: number; payload?: unknown };
          ch.push(eventEntry(ENTRY_BARRIER, b.id, b.payload));
          break;
        }
        case FRAME_FAIL:
          ch.fail(new FlowpilotError('FP_NET_REMOTE', `producer of channel ${ch.key} failed: ${payload.toString('utf8')}`));
          break;
        default:
          socket.destroy(new FlowpilotError('FP_NET_FRAME', `unknown data frame type ${type}`));
      }
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        decoder.push(chunk);
      } catch (err) {
        socket.destroy(err as Error);
      }
    });
    const lost = (err?: Error) => {
      this.serverConns.delete(socket);
      for (const [id, ch] of byId) {
        if (!ended.has(id)) ch.fail(new FlowpilotError('FP_NET_CONNECTION_LOST', `data connection for channel ${ch.key} was lost${err ? `: ${err.message}` : ''}`));
      }
      byId.clear();
    };
    socket.on('error', (err) => lost(err));
    socket.on('close', () => lost());
  }
}

/** One pooled outgoing data connection to a remote TaskManager. */
class DataClient {
  private readonly socket: net.Socket;
  private readonly outputs = new Map<number, OutputChannel>();
  private nextId = 1;
  private readonly packr = new Packr({ useRecords: true });
  private readonly encoder = new BatchEncoder();
  private readonly log: Logger;
  closed = false;

  constructor(address: string, log: Logger) {
    this.log = log;
    const idx = address.lastIndexOf(':');
    const host = address.slice(0, idx);
    const port = Number(address.slice(idx + 1));
    this.socket = net.connect({ host, port });
    this.socket.setNoDelay(true);
    const decoder = new FrameDecoder((type, id, payload) => {
      if (type === FRAME_CREDIT) this.outputs.get(id)?.addCredit(payload.readDoubleBE(0));
      else if (type === FRAME_BATCH_SIZE) this.outputs.get(id)?.setBatchLimit(payload.readDoubleBE(0));
    });
    this.socket.on('data', (chunk: Buffer) => {
      try {
        decoder.push(chunk);
      } catch (err) {
        this.socket.destroy(err as Error);
      }
    });
    const lost = (err?: Error) => {
      if (this.closed) return;
      this.closed = true;
      const e = new FlowpilotError('FP_NET_CONNECTION_LOST', `data connection to ${address} was lost${err ? `: ${err.message}` : ''}`);
      this.log.warn({ address, err: err?.message }, 'data connection lost');
      for (const out of this.outputs.values()) out.fail(e);
      this.outputs.clear();
    };
    this.socket.on('error', (err) => lost(err));
    this.socket.on('close', () => lost());
  }

  /** Corks the socket for the rest of this turn, so every frame written in it leaves in one writev. */
  private corked = false;
  private cork(): void {
    if (this.corked) return;
    this.corked = true;
    this.socket.cork();
    process.nextTick(() => {
      this.corked = false;
      this.socket.uncork();
    });
  }

  open(out: OutputChannel): void {
    const id = this.nextId++;
    this.outputs.set(id, out);
    const socket = this.socket;
    const packr = this.packr;
    const encoder = this.encoder;
    const cork = () => this.cork();
    const transport: ChannelTransport = {
      send(entry: ChannelEntry): number {
        if (socket.destroyed) throw new FlowpilotError('FP_NET_CONNECTION_LOST', `data connection for ${out.key} is closed`);
        cork();
        switch (entry.kind) {
          case ENTRY_RECORDS: {
            const payload = encoder.encode(entry.records!);
            socket.write(frameHeader(FRAME_BATCH, id, payload.length));
            socket.write(payload);
            return payload.length + 9;
          }
          case ENTRY_WATERMARK:
            socket.write(numberFrame(FRAME_WATERMARK, id, entry.value));
            return 17;
          case ENTRY_END:
            socket.write(frame(FRAME_END, id));
            return 9;
          default: {
            const b = frame(FRAME_BARRIER, id, packr.pack({ id: entry.value, payload: entry.payload }));
            socket.write(b);
            return b.length;
          }
        }
      },
      close() {},
    };
    out.connect(transport);
    this.socket.write(frame(FRAME_OPEN, id, Buffer.from(out.key, 'utf8')));
  }

  release(prefix: string): void {
    for (const [id, out] of this.outputs) if (out.key.startsWith(prefix)) this.outputs.delete(id);
  }

  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }
}
