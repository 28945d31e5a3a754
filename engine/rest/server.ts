/**
 * The engine's REST server, answering as Flink's JobManager REST endpoint does (see
 * docs/engine-rest.md). `createRestHandler` builds a request handler over a RestBackend that
 * works without listening (so the JobManager can mount /metrics, /healthz and the like in front
 * of it via `preHandle`); `createRestServer` binds it to a port with node:http.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { silentLogger, type Logger } from '../../common/log.ts';
import type { RestBackend } from './backend.ts';
import { readBody } from './body.ts';
import type { Handler, RequestContext } from './context.ts';
import { routeNotFound, toRestError } from './errors.ts';
import { JarStore } from './jars.ts';
import { Router } from './router.ts';
import { addCommandRoutes } from './routes-commands.ts';
import { addReadRoutes } from './routes-read.ts';
import type { ClusterIdentity } from './views-cluster.ts';

export interface RestServerOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  logger?: Logger;
  /** Where uploaded job modules are stored (Flink's web.upload.dir). */
  uploadDir?: string;
  /** Largest accepted request body (Flink's rest.server.max-content-length, default 100 MiB). */
  maxBodyBytes?: number;
  /** Reported as flink-version; defaults to DEFAULT_FLINK_VERSION. */
  flinkVersion?: string;
  flinkCommit?: string;
  /** Clock, for tests; defaults to Date.now. */
  now?: () => number;
  /**
   * Runs before routing; return true when it answered the request (e.g. common/service-http.ts
   * `handleOpsRoute` for /metrics, /healthz, /readyz).
   */
  preHandle?: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<boolean>;
}

/** The Flink version flowpilot's REST API imitates (2.x wire format). */
export const DEFAULT_FLINK_VERSION = '2.2.0';
export const DEFAULT_MAX_BODY_BYTES = 100 * 1024 * 1024;

export type RestRequestHandler = ((req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>) & {
  /** Set once listening, for the `address` of GET /jars. */
  setAddress(address: string): void;
};

export function createRestRouter(): Router<Handler> {
  const router = new Router<Handler>();
  addReadRoutes(router);
  addCommandRoutes(router);
  return router;
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': Buffer.byteLength(text),
    'access-control-allow-origin': '*',
  });
  res.end(text);
}

export function createRestHandler(backend: RestBackend, opts: RestServerOptions = {}): RestRequestHandler {
  const router = createRestRouter();
  const logger = opts.logger ?? silentLogger();
  const jars = new JarStore(opts.uploadDir ?? path.join(os.tmpdir(), 'flowpilot-web-upload'));
  const maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const clock = opts.now ?? Date.now;
  const identity: ClusterIdentity = {
    flinkVersion: opts.flinkVersion ?? DEFAULT_FLINK_VERSION,
    flinkCommit: opts.flinkCommit ?? 'flowpilot',
    commitDate: '1970-01-01T00:00:00+00:00',
    refreshInterval: 3000,
  };
  let address = `http://${opts.host ?? '127.0.0.1'}:${opts.port ?? 8081}`;

  const handler = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const uri = req.url ?? '/';
    try {
      if (opts.preHandle && (await opts.preHandle(req, res))) return;
      const url = new URL(uri, 'http://localhost');
      const match = router.match(req.method ?? 'GET', url.pathname);
      if (!match) {
        req.resume();
        send(res, 404, { errors: routeNotFound(uri).errors });
        return;
      }
      let body: Promise<Buffer> | null = null;
      const ctx: RequestContext = {
        backend,
        params: match.params,
        query: url.searchParams,
        req,
        uri,
        now: clock(),
        body: () => (body ??= readBody(req, maxBodyBytes)),
        jars,
        identity,
        address,
        logger,
      };
      const reply = await match.route.handler(ctx);
      if (body === null) req.resume();
      send(res, reply.status, reply.body);
    } catch (err) {
      const restError = toRestError(err);
      if (restError.status >= 500) logger.error({ err, uri }, 'REST handler failed');
      else logger.debug({ uri, status: restError.status, errors: restError.errors }, 'REST request rejected');
      if (!res.headersSent) {
        if (restError.status === 413) res.setHeader('connection', 'close');
        send(res, restError.status, { errors: restError.errors });
      } else {
        res.destroy();
      }
    }
  };
  return Object.assign(handler, { setAddress: (a: string) => void (address = a) });
}

export interface RestServer {
  server: http.Server;
  port: number;
  close(): Promise<void>;
}

/** Starts the REST server; resolves once it listens. */
export async function createRestServer(backend: RestBackend, opts: RestServerOptions = {}): Promise<RestServer> {
  const host = opts.host ?? '127.0.0.1';
  const handler = createRestHandler(backend, opts);
  const server = http.createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8081, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  handler.setAddress(`http://${host}:${port}`);
  opts.logger?.info({ host, port }, 'REST API listening');
  return {
    server,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
