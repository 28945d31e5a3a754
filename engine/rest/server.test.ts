import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import type { RestBackend } from './backend.ts';
import { createRestHandler } from './server.ts';

/** The smallest real backend: an empty cluster. */
const empty: RestBackend = {
  jobManagerConfig: () => ({ 'rest.port': '0' }),
  listJobs: () => [],
  getJob: () => undefined,
  listTaskManagers: () => [],
  jobManagerMetrics: () => ({ taskSlotsTotal: 0 }),
  jobMetrics: () => undefined,
  subtaskMetrics: () => undefined,
  taskManagerMetrics: () => undefined,
  submitJob: async () => ({ jobId: '0'.repeat(32) }),
  cancelJob: async () => undefined,
};

describe('REST handler', () => {
  it('mounts inside another server, after a preHandle that can answer first', async () => {
    const handler = createRestHandler(empty, {
      flinkVersion: '2.2.0-test',
      preHandle: async (req, res) => {
        if (req.url !== '/metrics') return false;
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('# ops\n');
        return true;
      },
    });
    const server = http.createServer((req, res) => void handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      assert.equal(await (await fetch(`${base}/metrics`)).text(), '# ops\n');
      const overview = (await (await fetch(`${base}/v1/overview`)).json()) as Record<string, unknown>;
      assert.equal(overview['flink-version'], '2.2.0-test');
      assert.equal(overview.taskmanagers, 0);
      const checkpoints = await fetch(`${base}/jobs/${'a'.repeat(32)}/checkpoints`);
      assert.equal(checkpoints.status, 404);
      const jm = await fetch(`${base}/jobmanager/metrics?get=taskSlotsTotal`);
      assert.deepEqual(await jm.json(), [{ id: 'taskSlotsTotal', value: '0' }]);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
