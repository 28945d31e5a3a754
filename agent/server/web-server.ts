/**
 * The agent's listening socket, with Prometheus's access control applied in front of every
 * route: plain HTTP without a web config; with one, HTTPS and the client-certificate policy
 * of `tls_server_config`, then basic auth against `basic_auth_users` (bcrypt, checked
 * asynchronously so a login never stalls the event loop, and cached once it succeeded, as
 * the exporter-toolkit caches), then the configured response headers. Like the exporter-toolkit
 * it notices when the web config or its certificate files change (checked at most once a
 * second) and uses the new users and certificates without a restart; turning TLS on or off,
 * or changing client_auth_type, needs a restart.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import bcrypt from 'bcryptjs';
import { errorMessage } from '../../common/errors.ts';
import { silentLogger, type Logger } from '../../common/log.ts';
import { filesStamp, loadWebConfig, type WebConfig } from './web-config.ts';

export interface WebServer {
  port: number;
  server: http.Server;
  /** "https" with a TLS web config, else "http". */
  scheme: 'http' | 'https';
  close(): Promise<void>;
}

export interface WebServerOptions {
  /** Path of the web config file; none: plain HTTP, no authentication. */
  webConfigFile?: string;
  logger?: Logger;
}

/** A valid hash no password matches in practice: unknown users cost as much as known ones. */
const DECOY_HASH = '$2b$10$IPR9cXGU1rtiTeKV23fFSez2TEO6mx7HMZGZdP5Qxu1l5gpTOkJ6u';
const AUTH_CACHE_SIZE = 1024;

/** Basic auth and headers from the current web config, re-read when its files change. */
export class WebGuard {
  private config: WebConfig;
  private stamp: string;
  private checkedAt = 0;
  private readonly ok = new Map<string, true>();
  private readonly log: Logger;
  private readonly onTlsChange: (cfg: WebConfig) => void;

  constructor(config: WebConfig, log: Logger, onTlsChange: (cfg: WebConfig) => void = () => undefined) {
    this.config = config;
    this.stamp = filesStamp(config.files);
    this.log = log;
    this.onTlsChange = onTlsChange;
  }

  get current(): WebConfig {
    return this.config;
  }

  /** Re-reads the config when one of its files changed; a bad new config keeps the old one. */
  refresh(now = Date.now()): void {
    if (now - this.checkedAt < 1000) return;
    this.checkedAt = now;
    const stamp = filesStamp(this.config.files);
    if (stamp === this.stamp) return;
    this.stamp = stamp;
    try {
      const next = loadWebConfig(this.config.file);
      this.stamp = filesStamp(next.files);
      this.config = next;
      this.ok.clear();
      this.onTlsChange(next);
      this.log.info({ file: next.file }, 'web config reloaded');
    } catch (err) {
      this.log.error({ err: errorMessage(err) }, 'web config changed but is not valid; keeping the previous one');
    }
  }

  /** Null when the request may go on, else the refusal (401 with a Basic challenge). */
  async authenticate(req: http.IncomingMessage): Promise<null | { status: number; headers: Record<string, string>; body: string }> {
    const users = this.config.users;
    if (users.size === 0) return null;
    const refusal = { status: 401, headers: { 'www-authenticate': 'Basic', 'content-type': 'text/plain; charset=utf-8' }, body: 'Unauthorized\n' };
    const header = req.headers.authorization ?? '';
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    if (!m) return refusal;
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return refusal;
    const user = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    const hash = users.get(user);
    const key = createHash('sha256').update(`${hash ?? ''}\0${user}\0${password}`).digest('hex');
    if (hash !== undefined && this.ok.has(key)) return null;
    const match = await bcrypt.compare(password, hash ?? DECOY_HASH);
    if (!match || hash === undefined) return refusal;
    if (this.ok.size >= AUTH_CACHE_SIZE) this.ok.delete(this.ok.keys().next().value!);
    this.ok.set(key, true);
    return null;
  }
}

/** The SAN values of a peer certificate as Node prints them ("DNS:a, IP Address:1.2.3.4, URI:..."). */
function sansOf(subjectaltname: string | undefined): string[] {
  if (!subjectaltname) return [];
  return subjectaltname.split(/,\s*/).map((s) => s.slice(s.indexOf(':') + 1));
}

/** Applies the client-certificate policy Node cannot apply in the handshake itself; false: refuse. */
function clientCertAllowed(socket: TLSSocket, cfg: WebConfig): boolean {
  const tls = cfg.tls;
  if (!tls) return true;
  const peer = socket.getPeerCertificate();
  const presented = peer !== null && Object.keys(peer).length > 0;
  switch (tls.clientAuth) {
    case 'RequireAnyClientCert':
    case 'RequireClientCert':
      if (!presented) return false;
      break;
    case 'VerifyClientCertIfGiven':
      if (presented && !socket.authorized) return false;
      break;
    case 'RequireAndVerifyClientCert':
      if (!presented || !socket.authorized) return false;
      break;
    default:
      break;
  }
  if (tls.allowedSans.length > 0) {
    const sans = sansOf(presented ? peer.subjectaltname : undefined);
    if (!sans.some((s) => tls.allowedSans.includes(s))) return false;
  }
  return true;
}

/**
 * Listens on host:port and serves `handler` behind the web config's TLS and basic auth.
 * Throws FP_WEB_CONFIG when the web config is invalid, before listening.
 */
export async function startWebServer(host: string, port: number, handler: http.RequestListener, opts: WebServerOptions = {}): Promise<WebServer> {
  const log = opts.logger ?? silentLogger();
  const config = opts.webConfigFile ? loadWebConfig(opts.webConfigFile) : null;
  const tlsAtStart = config?.tls ?? null;
  let server: http.Server;
  let guard: WebGuard | null = null;
  const guarded: http.RequestListener = (req, res) => {
    if (!guard) return handler(req, res);
    guard.refresh();
    const g = guard;
    for (const [k, v] of Object.entries(g.current.headers)) res.setHeader(k, v);
    g.authenticate(req).then(
      (refusal) => {
        if (!refusal) return handler(req, res);
        res.writeHead(refusal.status, refusal.headers).end(refusal.body);
      },
      (err: unknown) => {
        log.error({ err: errorMessage(err) }, 'basic auth check failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('Internal Server Error\n');
      },
    );
  };
  if (tlsAtStart) {
    const tlsServer = https.createServer({ ...tlsAtStart.context, requestCert: tlsAtStart.requestCert, rejectUnauthorized: tlsAtStart.rejectUnauthorized }, guarded);
    tlsServer.on('secureConnection', (socket: TLSSocket) => {
      if (guard && !clientCertAllowed(socket, guard.current)) {
        log.warn({ remote: socket.remoteAddress, clientAuth: guard.current.tls?.clientAuth }, 'refused a TLS client: its certificate does not meet the web config');
        socket.destroy();
      }
    });
    tlsServer.on('tlsClientError', (err, socket) => {
      log.debug({ err: errorMessage(err), remote: socket.remoteAddress }, 'TLS handshake failed');
    });
    server = tlsServer;
  } else {
    server = http.createServer(guarded);
  }
  if (config) {
    guard = new WebGuard(config, log, (next) => {
      const tls = next.tls;
      if (!tlsAtStart || !tls) {
        if (Boolean(tlsAtStart) !== Boolean(tls)) log.warn('the web config turns TLS on or off: that takes effect at the next restart');
        return;
      }
      if (tls.clientAuth !== tlsAtStart.clientAuth) log.warn('client_auth_type changed: the handshake policy takes effect at the next restart');
      (server as https.Server).setSecureContext(tls.context);
    });
    log.info({ file: config.file, tls: Boolean(tlsAtStart), clientAuth: tlsAtStart?.clientAuth ?? null, basicAuthUsers: config.users.size }, 'web config loaded');
  }
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    server,
    scheme: tlsAtStart ? 'https' : 'http',
    close: () =>
      new Promise<void>((resolve) => {
        server.closeIdleConnections();
        server.close(() => resolve());
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      }),
  };
}
