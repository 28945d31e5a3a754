/**
 * The fleet's HTTP routes on the agent's port (fleet mode only):
 * - GET /api/v1/scaling/jobs: every managed job as this replica sees it (namespace/name, kind,
 *   uid, state, owner replica, acting or not, policy, last decision and action), plus the live
 *   members. Each replica lists every job; the last decision is known on the replica acting on it.
 * - GET /api/v1/scaling/decisions?job=NS/NAME&limit=N: that job's decisions (newest last) when
 *   this replica runs it; 404 with the owner replica otherwise (what `flowpilot scale explain
 *   --job NS/NAME` shows).
 */
import type http from 'node:http';
import type { FleetManager } from '../fleet/manager.ts';

function send(res: http.ServerResponse, req: http.IncomingMessage, status: number, body: unknown): true {
  return sendJson(res, req, status, JSON.stringify(body));
}

function sendJson(res: http.ServerResponse, req: http.IncomingMessage, status: number, json: string): true {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(req.method === 'HEAD' ? undefined : json);
  return true;
}

export function handleFleetRoutes(req: http.IncomingMessage, res: http.ServerResponse, fleet: FleetManager): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/api/v1/scaling/jobs') return sendJson(res, req, 200, fleet.statusJson());
  if (url.pathname !== '/api/v1/scaling/decisions') return false;
  const job = url.searchParams.get('job') ?? '';
  const m = /^([^/]+)\/([^/]+)$/.exec(job);
  if (!m) return send(res, req, 400, { error: 'in fleet mode, job must be NAMESPACE/NAME (the FlinkDeployment or FlinkSessionJob)' });
  const limitRaw = url.searchParams.get('limit');
  const limit = limitRaw === null ? 100 : Number(limitRaw);
  if (!Number.isInteger(limit) || limit < 1) return send(res, req, 400, { error: 'limit must be a positive integer' });
  const p = fleet.pipelineOf(m[1]!, m[2]!);
  if (!p) {
    const st = fleet.status().jobs.find((j) => j.namespace === m[1] && j.name === m[2]);
    return send(res, req, 404, st
      ? { error: `${job} runs on replica ${st.owner ?? '(none yet)'}, not on ${fleet.identity}; ask that replica`, owner: st.owner, replica: fleet.identity }
      : { error: `${job} is not a managed job (no flowpilot.io/autoscale: "true", or not in the watched namespaces)`, owner: null, replica: fleet.identity });
  }
  return send(res, req, 200, { job, replica: fleet.identity, acting: p.acting(), decisions: p.decisions.slice(-limit) });
}
