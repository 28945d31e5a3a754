/**
 * The engine's REST server, answering as Flink's JobManager REST endpoint does (see
 * docs/reference/engine-rest.md). `createRestHandler` builds a request handler over a RestBackend that
 * works without listening (so the JobManager can mount /metrics, /healthz and the like in front
 * of it via `preHandle`); `createRestServer` binds it to a port with node:http, or node:https
 * when TLS is configured (optionally requiring client certificates).
 *
 * Access control follows Flink's switches: web.submit.enable (the /jars handlers),
 * web.cancel.enable (PATCH /jobs/:jobid) and web.rescale.enable (PUT resource-requirements).
 * A switched-off handler is not registered, so its requests get Flink's router answer, 404
 * "Not found: <uri>", and /config `features` says what is on. No answer names a server path:
 * error texts and stack traces have the server's own directories (the code, the upload
 * directory) cut out.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
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
  /** Which command handlers are served (default: all, as Flink's defaults). */
  access?: Partial<RestAccess>;
  /** Whether the scheduler rescales through resource requirements (Flink: adaptive, not reactive); /config `web-rescale` needs it. Default false, as Flink's default scheduler. */
  rescaleSupported?: boolean;
  /** Listen address when it differs from the advertised `host` (Flink's rest.bind-address). */
  bindHost?: string;
  /** Serve https with these PEM credentials. */
  tls?: RestTlsOptions;
  /** More absolute directories that must not appear in answers (besides the code and the upload directory). */
  hiddenPaths?: string[];
}

/** Flink's web.submit.enable, web.cancel.enable and web.rescale.enable. */
export interface RestAccess {
  submit: boolean;
  cancel: boolean;
  rescale: boolean;
}

/** security.ssl.rest.* in PEM form. */
export interface RestTlsOptions {
  /** Private key (PEM). */
  key: string | Buffer;
  /** Certificate chain (PEM), leaf first. */
  cert: string | Buffer;
  passphrase?: string;
  /** CA certificates client certificates must chain to (PEM); needed when requireClientCert. */
  ca?: string | Buffer;
  /** Mutual TLS (security.ssl.rest.authentication-enabled). */
  requireClientCert: boolean;
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
}

export const DEFAULT_ACCESS: RestAccess = { submit: true, cancel: true, rescale: true };

/** The directory holding engine/, common/, cli/ (cut out of stack traces). */
const CODE_ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * Cuts absolute server directories out of a text: `<dir>/x` becomes `x`. Longest first, so a
 * directory inside another is cut whole.
 */
export function pathScrubber(dirs: string[]): (text: string) => string {
  const prefixes = [...new Set(dirs.filter((d) => path.isAbsolute(d) && d !== '/').map((d) => `${path.resolve(d)}/`))]
    .sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const p of prefixes) if (out.includes(p)) out = out.split(p).join('');
    for (const p of prefixes) {
      const bare = p.slice(0, -1);
      if (out.includes(bare)) out = out.split(bare).join(`<${path.basename(bare)}>`);
    }
    return out;
  };
}
/** The Flink version flowpilot's REST API imitates (2.x wire format). */
export const DEFAULT_FLINK_VERSION = '2.2.0';
export const DEFAULT_MAX_BODY_BYTES = 100 * 1024 * 1024;

export type RestRequestHandler = ((req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>) & {
  /** Set once listening, for the `address` of GET /jars. */
  setAddress(address: string): void;
};

export function createRestRouter(access: RestAccess = DEFAULT_ACCESS): Router<Handler> {
  const router = new Router<Handler>();
  addReadRoutes(router);
  addCommandRoutes(router, access);
  return router;
}

/** Splits a request target into its path and query without throwing on any input. */
function splitTarget(uri: string): { pathname: string; query: URLSearchParams } {
  const hash = uri.indexOf('#');
  const target = hash < 0 ? uri : uri.slice(0, hash);
  const q = target.indexOf('?');
  let pathname = q < 0 ? target : target.slice(0, q);
  // An absolute-form target (http://host/path) is routed by its path.
  const abs = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/]*/.exec(pathname);
  if (abs) pathname = pathname.slice(abs[0].length) || '/';
  return { pathname, query: new URLSearchParams(q < 0 ? '' : target.slice(q + 1)) };
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
  const access: RestAccess = { ...DEFAULT_ACCESS, ...opts.access };
  const router = createRestRouter(access);
  const logger = opts.logger ?? silentLogger();
  const jars = new JarStore(opts.uploadDir ?? path.join(os.tmpdir(), 'flowpilot-web-upload'));
  const scrub = pathScrubber([CODE_ROOT, jars.dir, ...(opts.hiddenPaths ?? [])]);
  const maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const clock = opts.now ?? Date.now;
  const identity: ClusterIdentity = {
    flinkVersion: opts.flinkVersion ?? DEFAULT_FLINK_VERSION,
    flinkCommit: opts.flinkCommit ?? 'flowpilot',
    commitDate: '1970-01-01T00:00:00+00:00',
    refreshInterval: 3000,
    features: { submit: access.submit, cancel: access.cancel, rescale: access.rescale && (opts.rescaleSupported ?? false) },
  };
  let address = `${opts.tls ? 'https' : 'http'}://${opts.host ?? '127.0.0.1'}:${opts.port ?? 8081}`;

  const handler = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const uri = req.url ?? '/';
    try {
      if (opts.preHandle && (await opts.preHandle(req, res))) return;
      const url = splitTarget(uri);
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
        query: url.query,
        req,
        uri,
        now: clock(),
        body: () => (body ??= readBody(req, maxBodyBytes)),
        jars,
        identity,
        address,
        logger,
        scrub,
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
        send(res, restError.status, { errors: restError.errors.map(scrub) });
      } else {
        res.destroy();
      }
    }
  };
  return Object.assign(handler, { setAddress: (a: string) => void (address = a) });
}

/**
 * A request node's HTTP parser refused before any handler ran (a malformed request line or
 * header, headers over the size limit): answered with a 4xx and Flink's error body, not a bare
 * status line, then the connection is closed.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const message = status === 431 ? 'Request header fields too large.' : status === 408 ? 'Request timed out.' : `Bad request: the HTTP request could not be parsed (${err.code ?? 'error'}).`;
  const body = JSON.stringify({ errors: [message] });
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: application/json; charset=UTF-8\r\n`
      + `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

export interface RestServer {
  server: http.Server;
  port: number;
  close(): Promise<void>;
}

/** Starts the REST server (https when `tls` is set); resolves once it listens on `bindHost` (default `host`). */
export async function createRestServer(backend: RestBackend, opts: RestServerOptions = {}): Promise<RestServer> {
  const host = opts.host ?? '127.0.0.1';
  const bindHost = opts.bindHost ?? host;
  const handler = createRestHandler(backend, opts);
  const listener = (req: http.IncomingMessage, res: http.ServerResponse) => void handler(req, res);
  const tls = opts.tls;
  const server: http.Server = tls
    ? https.createServer({
      key: tls.key,
      cert: tls.cert,
      ...(tls.passphrase !== undefined ? { passphrase: tls.passphrase } : {}),
      ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
      requestCert: tls.requireClientCert,
      rejectUnauthorized: tls.requireClientCert,
      minVersion: tls.minVersion ?? 'TLSv1.2',
    }, listener)
    : http.createServer(listener);
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => answerClientError(err, socket));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8081, bindHost, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const scheme = tls ? 'https' : 'http';
  handler.setAddress(`${scheme}://${host}:${port}`);
  opts.logger?.info({ host, bindHost, port, tls: !!tls, mutualTls: tls?.requireClientCert ?? false }, 'REST API listening');
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
