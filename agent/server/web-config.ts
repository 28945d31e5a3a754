/**
 * The `--web.config.file` of Prometheus and its exporters (the exporter-toolkit format): TLS for
 * the agent's HTTP server (`tls_server_config`: cert/key, client certificate policy, client CA,
 * TLS versions, allowed client SANs), response headers (`http_server_config.headers`) and basic
 * auth users with bcrypt hashes (`basic_auth_users`). This module reads and validates the file
 * into Node TLS options and a user table; web-server.ts applies them. Relative paths are taken
 * from the config file's directory, as the exporter-toolkit does.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import type { SecureContextOptions } from 'node:tls';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { FlowpilotError, errorMessage } from '../../common/errors.ts';

export const CLIENT_AUTH_TYPES = ['NoClientCert', 'RequestClientCert', 'RequireAnyClientCert', 'RequireClientCert', 'VerifyClientCertIfGiven', 'RequireAndVerifyClientCert'] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

const TLS_VERSIONS = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' } as const;
type TlsVersionName = keyof typeof TLS_VERSIONS;
const tlsVersion = z.enum(Object.keys(TLS_VERSIONS) as [TlsVersionName, ...TlsVersionName[]]);

/** The security headers the exporter-toolkit lets a web config set, with the values it accepts (null: any). */
const ALLOWED_HEADERS: Record<string, RegExp | null> = {
  'strict-transport-security': null,
  'x-content-type-options': /^nosniff$/i,
  'x-frame-options': /^(deny|sameorigin)$/i,
  'x-xss-protection': null,
  'content-security-policy': null,
};

const BCRYPT_HASH = /^\$2[abxy]?\$\d\d\$[./A-Za-z0-9]{53}$/;

export const webConfigSchema = z
  .object({
    tls_server_config: z
      .object({
        cert_file: z.string().optional(),
        key_file: z.string().optional(),
        cert: z.string().optional(),
        key: z.string().optional(),
        client_auth_type: z.enum(CLIENT_AUTH_TYPES).optional(),
        client_ca_file: z.string().optional(),
        client_ca: z.string().optional(),
        min_version: tlsVersion.optional(),
        max_version: tlsVersion.optional(),
        client_allowed_sans: z.array(z.string()).optional(),
        prefer_server_cipher_suites: z.boolean().optional(),
      })
      .strict()
      .nullish(),
    http_server_config: z
      .object({
        http2: z.boolean().optional(),
        headers: z.record(z.string(), z.string()).optional(),
      })
      .strict()
      .nullish(),
    basic_auth_users: z.record(z.string(), z.string()).nullish(),
  })
  .strict();

export interface TlsServerSettings {
  /** Key, certificate, client CAs, versions: what `setSecureContext` takes, so files can be reloaded. */
  context: SecureContextOptions;
  clientAuth: ClientAuthType;
  /** Ask the client for a certificate during the handshake. */
  requestCert: boolean;
  /** Let Node refuse the handshake without a certificate signed by the client CA. */
  rejectUnauthorized: boolean;
  /** Client certificate SANs of which one must be present (empty: any). */
  allowedSans: string[];
}

export interface WebConfig {
  file: string;
  tls: TlsServerSettings | null;
  /** user -> bcrypt hash; empty: no basic auth. */
  users: Map<string, string>;
  headers: Record<string, string>;
  /** Files whose change means the config must be read again (the config file, certs, keys, CAs). */
  files: string[];
}

function fail(file: string, message: string): never {
  throw new FlowpilotError('FP_WEB_CONFIG', `web config ${file}: ${message}`);
}

/** Reads and validates a web config file, with every file it names. Throws FP_WEB_CONFIG. */
export function loadWebConfig(file: string): WebConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return fail(file, `cannot read it: ${errorMessage(err)}`);
  }
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0) fail(file, `yaml: ${doc.errors[0]!.message.split('\n')[0]}`);
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    return fail(file, `yaml: ${errorMessage(err)}`);
  }
  const parsed = webConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    fail(file, `${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const cfg = parsed.data;
  const dir = dirname(file);
  const path = (p: string): string => (isAbsolute(p) ? p : join(dir, p));
  const files = [file];
  const read = (what: string, p: string): string => {
    const full = path(p);
    files.push(full);
    try {
      return readFileSync(full, 'utf8');
    } catch (err) {
      return fail(file, `failed to read ${what} (${full}): ${errorMessage(err)}`);
    }
  };

  const users = new Map<string, string>();
  for (const [user, hash] of Object.entries(cfg.basic_auth_users ?? {})) {
    if (!BCRYPT_HASH.test(hash)) fail(file, `basic_auth_users.${user}: not a bcrypt hash (make one with \`htpasswd -nBC 10 "" | tr -d ':\\n'\`)`);
    users.set(user, hash);
  }

  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(cfg.http_server_config?.headers ?? {})) {
    const rule = ALLOWED_HEADERS[name.toLowerCase()];
    if (rule === undefined) fail(file, `http_server_config.headers: HTTP header ${name} can not be configured`);
    if (rule && !rule.test(value)) fail(file, `http_server_config.headers: invalid value for ${name}: ${value}`);
    headers[name] = value;
  }

  let tls: TlsServerSettings | null = null;
  const t = cfg.tls_server_config;
  const tlsEnabled = t && (t.cert_file || t.cert || t.key_file || t.key || t.client_ca_file || t.client_ca || t.client_auth_type);
  if (t && tlsEnabled) {
    if (!t.cert_file && !t.cert) fail(file, 'tls_server_config: missing one of cert or cert_file');
    if (!t.key_file && !t.key) fail(file, 'tls_server_config: missing one of key or key_file');
    const clientAuth: ClientAuthType = t.client_auth_type ?? 'NoClientCert';
    const ca = t.client_ca_file ? read('client_ca_file', t.client_ca_file) : t.client_ca;
    if (ca && clientAuth === 'NoClientCert') fail(file, "tls_server_config: client CA's have been configured without a Client Auth Policy");
    if ((clientAuth === 'VerifyClientCertIfGiven' || clientAuth === 'RequireAndVerifyClientCert') && !ca) {
      fail(file, `tls_server_config: client_auth_type ${clientAuth} needs client_ca_file (the CA that signs client certificates)`);
    }
    const allowedSans = t.client_allowed_sans ?? [];
    if (t.client_allowed_sans && clientAuth !== 'RequireAnyClientCert' && clientAuth !== 'RequireClientCert' && clientAuth !== 'RequireAndVerifyClientCert') {
      fail(file, 'tls_server_config: client_allowed_sans requires client_auth_type to be one of RequireAnyClientCert or RequireAndVerifyClientCert');
    }
    const context: SecureContextOptions = {
      cert: t.cert_file ? read('cert_file', t.cert_file) : t.cert,
      key: t.key_file ? read('key_file', t.key_file) : t.key,
      minVersion: TLS_VERSIONS[t.min_version ?? 'TLS12'],
      maxVersion: TLS_VERSIONS[t.max_version ?? 'TLS13'],
      honorCipherOrder: t.prefer_server_cipher_suites ?? true,
      ...(ca ? { ca } : {}),
    };
    tls = {
      context,
      clientAuth,
      requestCert: clientAuth !== 'NoClientCert',
      rejectUnauthorized: clientAuth === 'RequireAndVerifyClientCert',
      allowedSans,
    };
  }
  return { file, tls, users, headers, files };
}

/** A cheap fingerprint of the files a config depends on (mtime and size), to notice a change. */
export function filesStamp(files: readonly string[]): string {
  return files
    .map((f) => {
      try {
        const st = statSync(f);
        return `${st.mtimeMs}:${st.size}`;
      } catch {
        return 'missing';
      }
    })
    .join('|');
}
