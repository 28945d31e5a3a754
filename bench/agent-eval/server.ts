/**
 * Serves the synthetic job's targets over HTTP on 127.0.0.1, one port per target (each Flink
 * process has its own reporter port), on `/metrics` and `/`. Every answered request advances that
 * target's tick, so values change on every scrape, whoever scrapes. It keeps the start time of
 * every request, and when its answer was sent, so the Prometheus side can tell how many scrapes
 * preceded an evaluation and whether a scrape was in flight during it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SyntheticTarget } from './synthetic-job.ts';

export interface ServedTarget {
  target: SyntheticTarget;
  /** host:port */
  address: string;
  url: string;
  /** Start times (ms since the epoch) of every answered scrape. */
  requests: number[];
  /** When each answer was fully handed to the socket (same index as `requests`). */
  finished: number[];
}

export interface TargetServers {
  served: ServedTarget[];
  close(): Promise<void>;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

export async function serveTargets(targets: SyntheticTarget[]): Promise<TargetServers> {
  const servers: Server[] = [];
  const served: ServedTarget[] = [];
  try {
    for (const target of targets) {
      const entry: ServedTarget = { target, address: '', url: '', requests: [], finished: [] };
      const server = createServer((req, res) => {
        const path = (req.url ?? '/').split('?')[0];
        if (req.method !== 'GET' || (path !== '/metrics' && path !== '/')) {
          res.writeHead(404).end();
          return;
        }
        const tick = entry.requests.length + 1;
        entry.requests.push(Date.now());
        res.once('finish', () => {
          entry.finished[tick - 1] = Date.now();
        });
        const body = target.render(tick);
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
      server.keepAliveTimeout = 60_000;
      servers.push(server);
      const port = await listen(server);
      entry.address = `127.0.0.1:${port}`;
      entry.url = `http://127.0.0.1:${port}/metrics`;
      served.push(entry);
    }
  } catch (err) {
    for (const s of servers) s.close();
    throw err;
  }
  return {
    served,
    async close() {
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => {
        s.closeAllConnections();
        s.close(() => resolve());
      })));
    },
  };
}
