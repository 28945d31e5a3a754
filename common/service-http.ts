/**
 * The small HTTP surface every flowpilot process serves: /metrics (prom-client),
 * /healthz (the process is alive) and /readyz (it can do its job). Services with a
 * richer API mount these routes through `handleOpsRoute` instead of a second port.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface ReadinessProbe {
  /** Returns null when ready, or a short reason when not. */
  (): string | null;
}

export interface OpsRoutes {
  registry: Registry;
  ready: ReadinessProbe;
}

/** Answers /metrics, /healthz and /readyz; returns false for any other path. */
export async function handleOpsRoute(req: http.IncomingMessage, res: http.ServerResponse, ops: OpsRoutes): Promise<boolean> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  if (path === '/metrics') {
    const body = await ops.registry.metrics();
    res.writeHead(200, { 'content-type': ops.registry.contentType });
    res.end(body);
    return true;
  }
  if (path === '/healthz') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok\n');
    return true;
  }
  if (path === '/readyz') {
    const reason = ops.ready();
    res.writeHead(reason === null ? 200 : 503, { 'content-type': 'text/plain' });
    res.end(reason === null ? 'ready\n' : `not ready: ${reason}\n`);
    return true;
  }
  return false;
}

export interface OpsServer {
  server: http.Server;
  port: number;
  close(): Promise<void>;
}

/** Starts a server that serves only the ops routes. Port 0 picks a free port. */
export async function startOpsServer(host: string, port: number, ops: OpsRoutes): Promise<OpsServer> {
  const server = http.createServer((req, res) => {
    handleOpsRoute(req, res, ops)
      .then((handled) => {
        if (!handled) {
          res.writeHead(404, { 'content-type': 'text/plain' });
          res.end('not found\n');
        }
      })
      .catch((err: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(err));
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    server,
    port: actual,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
