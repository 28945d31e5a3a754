/**
 * Serves the JobManager's Flink-compatible REST API (engine/rest/server.ts) on rest.port over
 * the JobManager's RestBackend. /metrics, /healthz and /readyz answer there too, as well as on
 * the metrics port. Uploaded job modules are stored under <state.dir>/uploads.
 */
import { join, resolve } from 'node:path';
import { handleOpsRoute } from '../../common/service-http.ts';
import { createRestServer } from '../rest/server.ts';
import type { JobManager } from './job-manager.ts';
import { createRestBackend } from './rest-backend.ts';

export interface RestEndpoint {
  port: number;
  close(): Promise<void>;
}

export async function startRestEndpoint(jm: JobManager): Promise<RestEndpoint> {
  const server = await createRestServer(createRestBackend(jm), {
    host: jm.config['rest.address'],
    port: jm.config['rest.port'],
    logger: jm.log,
    uploadDir: join(resolve(jm.config['state.dir']), 'uploads'),
    preHandle: (req, res) => handleOpsRoute(req, res, { registry: jm.registry, ready: () => null }),
  });
  return { port: server.port, close: () => server.close() };
}
