/**
 * Prometheus's `http_config` for the agent's outgoing HTTP clients (Alertmanager, webhooks, Flink
 * REST): `tls_config` (CA, client certificate and key, server name, insecure_skip_verify, TLS
 * versions), `basic_auth` and `authorization` (a bearer token or another scheme), each secret
 * given inline or as a file. One schema (zod, Prometheus's field names and exclusivity rules)
 * and one resolver that turns it into what undici takes: a `connect` function for an Agent or
 * Pool, and the Authorization header. Files are read again when they change (a new connection
 * for TLS files, a new request for credentials), so rotated Kubernetes Secrets need no restart,
 * as in Prometheus.
 */
import { readFileSync, statSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { Agent, buildConnector, Pool, type Dispatcher } from 'undici';
import { z } from 'zod';
import { FlowpilotError, errorMessage } from '../../common/errors.ts';

const TLS_VERSIONS = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' } as const;
type TlsVersionName = keyof typeof TLS_VERSIONS;
const tlsVersion = z.enum(Object.keys(TLS_VERSIONS) as [TlsVersionName, ...TlsVersionName[]]);

function exclusive(a: unknown, b: unknown): boolean {
  return a === undefined || a === '' || b === undefined || b === '';
}

export const tlsConfigSchema = z
  .object({
    ca_file: z.string().optional().describe('CA certificate(s) to verify the server with (PEM file)'),
    ca: z.string().optional().describe('the same, inline'),
    cert_file: z.string().optional().describe('client certificate for mutual TLS (PEM file)'),
    cert: z.string().optional().describe('the same, inline'),
    key_file: z.string().optional().describe("the client certificate's key (PEM file)"),
    key: z.string().optional().describe('the same, inline'),
    server_name: z.string().optional().describe('server name to verify (and send as SNI)'),
    insecure_skip_verify: z.boolean().default(false).describe("do not verify the server's certificate"),
    min_version: tlsVersion.optional().describe('lowest TLS version: TLS10, TLS11, TLS12, TLS13 (default TLS12)'),
    max_version: tlsVersion.optional().describe('highest TLS version'),
  })
  .strict()
  .superRefine((t, ctx) => {
    if (!exclusive(t.ca, t.ca_file)) ctx.addIssue({ code: 'custom', message: 'at most one of ca and ca_file must be configured' });
    if (!exclusive(t.cert, t.cert_file)) ctx.addIssue({ code: 'custom', message: 'at most one of cert and cert_file must be configured' });
    if (!exclusive(t.key, t.key_file)) ctx.addIssue({ code: 'custom', message: 'at most one of key and key_file must be configured' });
    const hasCert = Boolean(t.cert || t.cert_file);
    const hasKey = Boolean(t.key || t.key_file);
    if (hasCert !== hasKey) ctx.addIssue({ code: 'custom', message: 'exactly one of key or key_file must be configured when a client certificate is configured' });
  });

export const httpConfigSchema = z
  .object({
    basic_auth: z
      .object({
        username: z.string().optional(),
        username_file: z.string().optional(),
        password: z.string().optional(),
        password_file: z.string().optional(),
      })
      .strict()
      .optional()
      .describe('HTTP basic auth (username / username_file, password / password_file)'),
    authorization: z
      .object({
        type: z.string().default('Bearer'),
        credentials: z.string().optional(),
        credentials_file: z.string().optional(),
      })
      .strict()
      .optional()
      .describe('the Authorization header: type (default Bearer) and credentials / credentials_file'),
    tls_config: tlsConfigSchema.optional().describe('TLS and mutual TLS'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.basic_auth && c.authorization) ctx.addIssue({ code: 'custom', message: 'at most one of basic_auth, oauth2 & authorization must be configured' });
    const b = c.basic_auth;
    if (b && !exclusive(b.username, b.username_file)) ctx.addIssue({ code: 'custom', message: 'at most one of basic_auth username & username_file must be configured' });
    if (b && !exclusive(b.password, b.password_file)) ctx.addIssue({ code: 'custom', message: 'at most one of basic_auth password & password_file must be configured' });
    const a = c.authorization;
    if (a && !exclusive(a.credentials, a.credentials_file)) ctx.addIssue({ code: 'custom', message: 'at most one of authorization credentials & credentials_file must be configured' });
    if (a && a.type.toLowerCase() === 'basic') ctx.addIssue({ code: 'custom', message: 'authorization type cannot be set to "basic", use "basic_auth" instead' });
  });

export type HttpConfig = z.output<typeof httpConfigSchema>;
export type HttpConfigInput = z.input<typeof httpConfigSchema>;

/** A file read again only when its mtime or size changes. */
class WatchedFile {
  private stamp = '';
  private text = '';
  readonly path: string;
  private readonly what: string;

  constructor(path: string, what: string) {
    this.path = path;
    this.what = what;
  }

  read(): string {
    let stamp: string;
    try {
      const st = statSync(this.path);
      stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch (err) {
      throw new FlowpilotError('FP_HTTP_CONFIG', `unable to read ${this.what} ${this.path}: ${errorMessage(err)}`);
    }
    if (stamp !== this.stamp) {
      try {
        this.text = readFileSync(this.path, 'utf8');
      } catch (err) {
        throw new FlowpilotError('FP_HTTP_CONFIG', `unable to read ${this.what} ${this.path}: ${errorMessage(err)}`);
      }
      this.stamp = stamp;
    }
    return this.text;
  }

  get version(): string {
    return this.stamp;
  }
}

/** An inline value or a file, as Prometheus's Secret / file pairs. */
function secret(inline: string | undefined, file: string | undefined, what: string): () => string {
  if (file) {
    const f = new WatchedFile(file, what);
    return () => f.read();
  }
  const v = inline ?? '';
  return () => v;
}

/**
 * An http_config made usable: `connect` for undici's Agent/Pool (or undefined when there is no
 * tls_config), `authorization()` for each request. Throws FP_HTTP_CONFIG at construction when a
 * named file cannot be read or a certificate does not load, so a bad config fails at start.
 */
export class HttpClientConfig {
  readonly config: HttpConfig;
  readonly connect: buildConnector.connector | undefined;
  private readonly auth: (() => string | undefined) | null;
  private readonly where: string;

  constructor(config: HttpConfigInput | HttpConfig | undefined, where = 'http_config') {
    const parsed = httpConfigSchema.safeParse(config ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new FlowpilotError('FP_HTTP_CONFIG', `${where}${issue.path.length ? `.${issue.path.join('.')}` : ''}: ${issue.message}`);
    }
    this.config = parsed.data;
    this.where = where;
    this.connect = this.config.tls_config ? tlsConnector(this.config.tls_config, where) : undefined;
    this.auth = authHeader(this.config);
    // Read every file once now, so a missing file is a start-up error rather than a failed request.
    this.authorization();
  }

  /**
   * The connector for an undici Agent or Pool, with `base` options (e.g. the connect timeout);
   * undefined without a tls_config.
   */
  connector(base: buildConnector.BuildOptions = {}): buildConnector.connector | undefined {
    return this.config.tls_config ? tlsConnector(this.config.tls_config, this.where, base) : undefined;
  }

  /**
   * What a Pool-based client takes (the Flink REST client's `http` option): the connector, with
   * the connect timeout, and the headers, asked per request so a rotated token is used.
   */
  poolOptions(connectTimeoutMs?: number): { connect?: buildConnector.connector; headers: () => Record<string, string> } {
    const connect = this.connector(connectTimeoutMs === undefined ? {} : { timeout: connectTimeoutMs });
    return { ...(connect ? { connect } : {}), headers: () => this.headers() };
  }

  /** The Authorization header value for the next request, or undefined. */
  authorization(): string | undefined {
    return this.auth ? this.auth() : undefined;
  }

  /** Headers to merge into a request: the Authorization header when configured. */
  headers(): Record<string, string> {
    const a = this.authorization();
    return a === undefined ? {} : { authorization: a };
  }

  /** An undici Agent (any origin) using this TLS config; the caller closes it. */
  agent(opts: Omit<Agent.Options, 'connect'> = {}): Agent {
    return new Agent({ ...opts, ...(this.connect ? { connect: this.connect } : {}) });
  }

  /** An undici Pool for one origin using this TLS config; the caller closes it. */
  pool(origin: string, opts: Omit<Pool.Options, 'connect'> = {}): Pool {
    return new Pool(origin, { ...opts, ...(this.connect ? { connect: this.connect } : {}) });
  }

  /** The dispatcher to pass to undici's request(): an Agent when TLS is configured, else undefined (the global one). */
  dispatcher(opts: Omit<Agent.Options, 'connect'> = {}): Dispatcher | undefined {
    return this.connect ? this.agent(opts) : undefined;
  }
}

function authHeader(c: HttpConfig): (() => string | undefined) | null {
  if (c.basic_auth) {
    const user = secret(c.basic_auth.username, c.basic_auth.username_file, 'basic_auth username_file');
    const pass = secret(c.basic_auth.password, c.basic_auth.password_file, 'basic_auth password_file');
    return () => `Basic ${Buffer.from(`${user().trim()}:${pass().trim()}`).toString('base64')}`;
  }
  if (c.authorization) {
    const type = c.authorization.type;
    const cred = secret(c.authorization.credentials, c.authorization.credentials_file, 'authorization credentials_file');
    return () => {
      const v = cred().trim();
      return v === '' ? undefined : `${type} ${v}`;
    };
  }
  return null;
}

/**
 * A connector that builds undici's TLS connector from the files' current contents, and builds it
 * again when one of them changed, so a rotated client certificate is used by the next connection.
 */
function tlsConnector(t: NonNullable<HttpConfig['tls_config']>, where: string, base: buildConnector.BuildOptions = {}): buildConnector.connector {
  const ca = secret(t.ca, t.ca_file, 'tls_config ca_file');
  const cert = secret(t.cert, t.cert_file, 'tls_config cert_file');
  const key = secret(t.key, t.key_file, 'tls_config key_file');
  let current: { stamp: string; connector: buildConnector.connector } | null = null;
  const build = (): buildConnector.connector => {
    const caText = ca();
    const certText = cert();
    const keyText = key();
    const stamp = `${caText.length}:${certText.length}:${keyText.length}:${hashOf(caText + certText + keyText)}`;
    if (current && current.stamp === stamp) return current.connector;
    // Loads the PEM texts now: a bad certificate or a key that does not match fails here, not per request.
    createSecureContext({ ...(caText ? { ca: caText } : {}), ...(certText ? { cert: certText, key: keyText } : {}) });
    const opts: buildConnector.BuildOptions = {
      ...base,
      rejectUnauthorized: !t.insecure_skip_verify,
      minVersion: TLS_VERSIONS[t.min_version ?? 'TLS12'],
      ...(t.max_version ? { maxVersion: TLS_VERSIONS[t.max_version] } : {}),
      ...(caText ? { ca: caText } : {}),
      ...(certText ? { cert: certText, key: keyText } : {}),
      ...(t.server_name ? { servername: t.server_name } : {}),
    };
    current = { stamp, connector: buildConnector(opts) };
    return current.connector;
  };
  try {
    build();
  } catch (err) {
    throw new FlowpilotError('FP_HTTP_CONFIG', `${where}.tls_config: ${errorMessage(err)}`);
  }
  return (options, callback) => {
    let connector: buildConnector.connector;
    try {
      connector = build();
    } catch (err) {
      callback(err instanceof Error ? err : new Error(String(err)), null);
      return;
    }
    connector(options, callback);
  };
}

/** FNV-1a, enough to notice that a PEM file's content changed. */
function hashOf(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
