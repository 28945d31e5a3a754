/**
 * scrape-compare.ts's exporter: the synthetic job's targets, one port per target and per scraper
 * (0: Prometheus, 1: the agent). Each answered scrape of a target is its next step; a step counts
 * as served once its body is fully written (a request cut off by the scraper's timeout is served
 * the same step again). Bodies are rendered once per step, for both scrapers, by worker threads
 * (render-worker.ts), a few steps ahead of the slower scraper, so the main thread only writes
 * them. After the last step every scrape gets an empty body, and so does a scrape whose step's
 * virtual time is more than maxAheadMs past the real clock.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Worker } from 'node:worker_threads';
import type { RenderWorkerData } from './render-worker.ts';

export interface ExporterOptions extends RenderWorkerData {
  targets: number;
  steps: number;
  /** Steps rendered ahead of the slower scraper. */
  ahead: number;
  /**
   * A step whose virtual time is more than this past the real clock is not served yet (the
   * scrape gets an empty body): Prometheus refuses samples over 10 min in the future.
   */
  maxAheadMs?: number;
  /** Render worker threads (default 2). */
  renderers?: number;
}

interface TargetState {
  pos: [number, number];
  bodies: Map<number, Uint8Array>;
  requested: Set<number>;
  parked: Array<{ who: number; res: ServerResponse }>;
  aborted: number;
}

export class Exporter {
  readonly addresses: string[][] = [[], []];
  renders = 0;
  /** Scrapes answered with an empty body because their step's time was too far ahead of the clock. */
  held = 0;
  /** Called whenever a scraper's step of a target advanced. */
  onServed: () => void = () => {};
  private readonly state: TargetState[];
  private readonly servers: Server[] = [];
  private readonly workers: Worker[];

  private readonly opts: ExporterOptions;

  private constructor(opts: ExporterOptions) {
    this.opts = opts;
    this.state = Array.from({ length: opts.targets }, () => ({ pos: [0, 0], bodies: new Map(), requested: new Set(), parked: [], aborted: 0 }));
    const data: RenderWorkerData = { vertices: opts.vertices, subtasks: opts.subtasks, intervalMs: opts.intervalMs, virtualStart: opts.virtualStart };
    this.workers = Array.from({ length: opts.renderers ?? 2 }, () => new Worker(new URL('./render-worker.ts', import.meta.url), { workerData: data }));
    for (const w of this.workers) {
      w.on('message', (m: { target: number; step: number; body: Uint8Array }) => {
        const s = this.state[m.target]!;
        s.requested.delete(m.step);
        s.bodies.set(m.step, m.body);
        this.renders++;
        const parked = s.parked;
        s.parked = [];
        for (const p of parked) this.serve(m.target, p.who, p.res);
      });
    }
  }

  /** Each target is rendered by one worker, so its steps come back in order. */
  private render(target: number, step: number): void {
    this.workers[target % this.workers.length]!.postMessage({ target, step });
  }

  static async start(opts: ExporterOptions): Promise<Exporter> {
    const e = new Exporter(opts);
    for (let j = 0; j < opts.targets; j++) {
      for (const who of [0, 1]) {
        const server = createServer((_req, res) => e.serve(j, who, res));
        server.keepAliveTimeout = 60_000;
        await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
        e.servers.push(server);
        e.addresses[who]![j] = `127.0.0.1:${(server.address() as AddressInfo).port}`;
      }
      e.prefetch(j);
    }
    return e;
  }

  /** The lowest step every target has served to `who`. */
  step(who: number): number {
    return Math.min(...this.state.map((s) => s.pos[who]));
  }

  aborted(): number {
    return this.state.reduce((a, s) => a + s.aborted, 0);
  }

  async close(): Promise<void> {
    for (const s of this.servers) s.closeAllConnections();
    await Promise.all(this.servers.map((s) => new Promise<void>((ok) => s.close(() => ok()))));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private prefetch(j: number): void {
    const s = this.state[j]!;
    const low = Math.min(s.pos[0], s.pos[1]);
    for (const k of s.bodies.keys()) if (k < low) s.bodies.delete(k);
    for (let k = low; k < Math.min(this.opts.steps, low + this.opts.ahead); k++) {
      if (s.bodies.has(k) || s.requested.has(k)) continue;
      s.requested.add(k);
      this.render(j, k);
    }
  }

  private serve(j: number, who: number, res: ServerResponse): void {
    const s = this.state[j]!;
    const step = s.pos[who];
    if (res.destroyed) return;
    if (step >= this.opts.steps) {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end('');
      return;
    }
    if (this.opts.virtualStart + step * this.opts.intervalMs > Date.now() + (this.opts.maxAheadMs ?? Infinity)) {
      this.held++;
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end('');
      return;
    }
    const body = s.bodies.get(step);
    if (body === undefined) {
      // Not rendered yet (the scraper ran ahead of the worker): answer when it is.
      if (!s.requested.has(step)) {
        s.requested.add(step);
        this.render(j, step);
      }
      s.parked.push({ who, res });
      return;
    }
    res.once('close', () => {
      if (!res.writableFinished) {
        s.aborted++;
        return;
      }
      if (s.pos[who] !== step) return;
      s.pos[who] = step + 1;
      // The other scraper is far behind: do not hold this body for it (it is rendered again).
      if (s.pos[1 - who]! < step - this.opts.ahead) s.bodies.delete(step);
      this.prefetch(j);
      this.onServed();
    });
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': body.length });
    res.end(body);
  }
}
