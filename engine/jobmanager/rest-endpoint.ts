/**
 * Serves the JobManager's REST API on rest.port. Until the REST layer (engine/rest/server.ts)
 * is available, this serves only the ops routes there, so the port is claimed and reported.
 */
import { startOpsServer } from '../../common/service-http.ts';
import type { JobManager } from './job-manager.ts';

export interface RestEndpoint {
  port: number;
  close(): Promise<void>;
}

export async function startRestEndpoint(jm: JobManager): Promise<RestEndpoint> {
  const ops = await startOpsServer(jm.config['rest.address'], jm.config['rest.port'], { registry: jm.registry, ready: () => null });
  return { port: ops.port, close: () => ops.close() };
}
