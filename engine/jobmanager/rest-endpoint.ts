/**
 * Serves the JobManager's Flink-compatible REST API (engine/rest/server.ts) on rest.port over
 * the JobManager's RestBackend, with Flink's switches: web.submit.enable, web.cancel.enable,
 * web.rescale.enable, rest.bind-address, and REST TLS (security.ssl.rest.*, PEM files, optional
 * mutual authentication). /metrics, /healthz and /readyz answer there too, as well as on the
 * metrics port. Uploaded job modules are stored under <state.dir>/uploads.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FlowpilotError, errorMessage } from '../../common/errors.ts';
import { handleOpsRoute } from '../../common/service-http.ts';
import type { JobManagerConfig } from '../config/options.ts';
import { createRestServer, type RestTlsOptions } from '../rest/server.ts';
import type { JobManager } from './job-manager.ts';
import { createRestBackend } from './rest-backend.ts';

export interface RestEndpoint {
  port: number;
  close(): Promise<void>;
}

/** One PEM file, or several comma-separated ones read in order (e.g. a kubernetes.io/tls Secret's tls.key,tls.crt). */
function readPem(files: string, key: string): Buffer {
  const parts = files.split(',').map((f) => f.trim()).filter((f) => f !== '');
  return Buffer.concat(parts.map((file) => {
    try {
      const pem = readFileSync(file);
      return pem.length > 0 && pem[pem.length - 1] !== 0x0a ? Buffer.concat([pem, Buffer.from('\n')]) : pem;
    } catch (err) {
      throw new FlowpilotError('FP_ENGINE_CONFIG', `${key}: cannot read ${file}: ${errorMessage(err)}`, { cause: err });
    }
  }));
}

/**
 * The PEM credentials for security.ssl.rest.*, or null when REST TLS is off. The keystore PEM
 * holds the private key and the certificate chain (Flink's keystore); the truststore PEM holds
 * the CA certificates client certificates must chain to (Flink's truststore).
 */
export function restTlsOptions(c: JobManagerConfig): RestTlsOptions | null {
  if (!c['security.ssl.rest.enabled']) return null;
  const keystore = c['security.ssl.rest.keystore'];
  if (!keystore) throw new FlowpilotError('FP_ENGINE_CONFIG', 'security.ssl.rest.enabled is true but security.ssl.rest.keystore (a PEM file with the key and certificate chain) is not set');
  const pem = readPem(keystore, 'security.ssl.rest.keystore');
  const mutual = c['security.ssl.rest.authentication-enabled'];
  const truststore = c['security.ssl.rest.truststore'];
  if (mutual && !truststore) {
    throw new FlowpilotError('FP_ENGINE_CONFIG', 'security.ssl.rest.authentication-enabled is true but security.ssl.rest.truststore (a PEM file of CA certificates) is not set');
  }
  const passphrase = c['security.ssl.rest.key-password'] ?? c['security.ssl.rest.keystore-password'];
  return {
    key: pem,
    cert: pem,
    ...(passphrase !== undefined ? { passphrase } : {}),
    ...(truststore ? { ca: readPem(truststore, 'security.ssl.rest.truststore') } : {}),
    requireClientCert: mutual,
    minVersion: c['security.ssl.protocol'],
  };
}

export async function startRestEndpoint(jm: JobManager): Promise<RestEndpoint> {
  const c = jm.config;
  const tls = restTlsOptions(c);
  const server = await createRestServer(createRestBackend(jm), {
    host: c['rest.address'],
    bindHost: c['rest.bind-address'] ?? c['rest.address'],
    port: c['rest.port'],
    logger: jm.log,
    uploadDir: join(resolve(c['state.dir']), 'uploads'),
    access: { submit: c['web.submit.enable'], cancel: c['web.cancel.enable'], rescale: c['web.rescale.enable'] },
    // Flink shows web-rescale only where resource requirements drive the parallelism (adaptive, not reactive).
    rescaleSupported: c['scheduler-mode'] !== 'reactive',
    ...(tls ? { tls } : {}),
    preHandle: (req, res) => handleOpsRoute(req, res, { registry: jm.registry, ready: () => null }),
  });
  return { port: server.port, close: () => server.close() };
}
