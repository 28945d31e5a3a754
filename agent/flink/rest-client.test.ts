import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { FlowpilotError } from '../../common/errors.ts';
import { FLINK_REST_ERRORS, FlinkRestClient } from './rest-client.ts';

async function serve(t: TestContext, handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function failure(p: Promise<unknown>): Promise<FlowpilotError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof FlowpilotError, `expected a FlowpilotError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the call to fail');
}

describe('the Flink REST client', () => {
  it('keeps an idle connection past undici\'s 4 s default when the server, as Flink\'s, gives no Keep-Alive timeout', async (t) => {
    let connections = 0;
    // Flink's KeepAliveWrite: `Connection: keep-alive`, no `Keep-Alive: timeout=` hint.
    const server = net.createServer((socket) => {
      connections++;
      socket.on('data', () => socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: keep-alive\r\ncontent-length: 2\r\n\r\n{}'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.after(() => new Promise<void>((r) => server.close(() => r())));
    const client = new FlinkRestClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, timeoutMs: 2000 });
    t.after(() => client.close());
    await client.get('/overview');
    const idleFrom = Date.now();
    // a collection interval's idle gap, longer than undici's default keep-alive (4 s)
    await new Promise<void>((r) => setTimeout(r, 4500));
    assert.ok(Date.now() - idleFrom >= 4500);
    await client.get('/overview');
    assert.equal(connections, 1, 'the second request reuses the first connection');
  });

  it('reads a body sent in pieces (a character split between them), and an abort ends a call mid-body at once', async (t) => {
    const body = Buffer.from(JSON.stringify({ name: 'zähler', ids: Array.from({ length: 500 }, (_, i) => `id-${i}`) }));
    const cut = body.indexOf(Buffer.from('ä')) + 1; // inside the two bytes of 'ä'
    let hold: (() => void) | null = null;
    const url = await serve(t, (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) });
      res.write(body.subarray(0, cut));
      if (req.url === '/stall') return; // the rest never comes
      hold = () => res.end(body.subarray(cut));
      setImmediate(() => hold?.());
    });
    const client = new FlinkRestClient({ baseUrl: url, timeoutMs: 5000 });
    t.after(() => client.close());
    assert.deepEqual(await client.get('/whole'), JSON.parse(body.toString('utf8')));
    const ac = new AbortController();
    const started = Date.now();
    const call = client.get('/stall', ac.signal);
    setTimeout(() => ac.abort(new Error('collection over')), 50);
    await assert.rejects(call, /collection over/);
    assert.ok(Date.now() - started < 2000, 'not held until the timeout');
    // the pool still serves the next call
    assert.deepEqual(await client.get('/whole'), JSON.parse(body.toString('utf8')));
  });

  it('maps every failure onto one code of FLINK_REST_ERRORS, for reads and writes alike', async (t) => {
    const url = await serve(t, (req, res) => {
      if (req.url === '/jobs/missing') { res.writeHead(404, { 'content-type': 'application/json' }); res.end('{"errors":["org.apache.flink.runtime.rest.NotFoundException: Job missing not found\\n\\tat ..."]}'); return; }
      if (req.url === '/broken') { res.writeHead(200); res.end('<html>'); return; }
      if (req.url === '/hang') return; // never answers
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"errors":["Internal server error.","<Exception on server side:\\njava.lang.RuntimeException"]}');
    });
    const client = new FlinkRestClient({ baseUrl: url, timeoutMs: 300 });
    t.after(() => client.close());
    const notFound = await failure(client.get('/jobs/missing'));
    assert.equal(notFound.code, 'FP_FLINK_NOT_FOUND');
    assert.match(notFound.message, /HTTP 404: org\.apache\.flink\.runtime\.rest\.NotFoundException: Job missing not found$/);
    assert.equal(await client.job('missing'), null, 'a 404 job reads as absent');
    const status = await failure(client.setResourceRequirements('abc', {}));
    assert.equal(status.code, 'FP_FLINK_REST');
    assert.equal(status.details?.httpStatus, 500);
    assert.equal((await failure(client.get('/broken'))).code, 'FP_FLINK_BAD_JSON');
    assert.equal((await failure(client.get('/hang'))).code, 'FP_FLINK_TIMEOUT');
    const closed = new FlinkRestClient({ baseUrl: 'http://127.0.0.1:1', timeoutMs: 1000 });
    t.after(() => closed.close());
    assert.equal((await failure(closed.jobsOverview())).code, 'FP_FLINK_UNREACHABLE');
    const seen = new Set([notFound.code, status.code, 'FP_FLINK_BAD_JSON', 'FP_FLINK_TIMEOUT', 'FP_FLINK_UNREACHABLE']);
    assert.deepEqual([...seen].sort(), Object.keys(FLINK_REST_ERRORS).sort(), 'the table lists exactly the codes the client throws');
  });

  it('keeps at most `concurrency` requests in flight; the rest wait in the pool without timing out', async (t) => {
    let inFlight = 0;
    let peak = 0;
    const url = await serve(t, (_req, res) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      setTimeout(() => { inFlight--; res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"ok":true}'); }, 150);
    });
    // 8 requests of 150 ms through 2 connections take ~600 ms: more than the 400 ms timeout,
    // which must count from the moment a request is on a connection, not from the call.
    const client = new FlinkRestClient({ baseUrl: url, timeoutMs: 400, concurrency: 2 });
    t.after(() => client.close());
    const all = await Promise.all(Array.from({ length: 8 }, () => client.get<{ ok: boolean }>('/x')));
    assert.equal(all.length, 8);
    assert.ok(all.every((r) => r.ok));
    assert.equal(peak, 2);
  });

  it('keeps a path prefix and sends the transport headers (the place for auth)', async (t) => {
    const seen: Array<{ url: string | undefined; auth: string | undefined }> = [];
    const url = await serve(t, (req, res) => {
      seen.push({ url: req.url, auth: req.headers.authorization });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"flink-version":"1.20.1"}');
    });
    const client = new FlinkRestClient({ baseUrl: `${url}/proxy/flink/`, http: { headers: { authorization: 'Bearer t0k3n' } } });
    t.after(() => client.close());
    assert.equal((await client.config())['flink-version'], '1.20.1');
    assert.deepEqual(seen, [{ url: '/proxy/flink/config', auth: 'Bearer t0k3n' }]);
  });

  it('reads quoted non-finite aggregates as numbers', async (t) => {
    const url = await serve(t, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('[{"id":"busyTimeMsPerSecond","min":"NaN","max":"NaN","avg":"NaN","sum":"NaN"},{"id":"numRecordsIn","min":1,"max":2,"avg":1.5,"sum":3}]');
    });
    const client = new FlinkRestClient({ baseUrl: url });
    t.after(() => client.close());
    const [busy, rin] = await client.getAggregated('/jobs/j/vertices/v/subtasks/metrics', ['busyTimeMsPerSecond', 'numRecordsIn'], ['min', 'max', 'avg', 'sum']);
    assert.ok(Number.isNaN(busy!.avg));
    assert.deepEqual(rin, { id: 'numRecordsIn', min: 1, max: 2, avg: 1.5, sum: 3 });
  });

  it('sends an idempotent request again on a fresh connection when the server closed the kept-alive one, and never a POST', async (t) => {
    // Each connection answers its first request and keeps the connection open, then closes it when the
    // next request arrives on it: what a JobManager whose idle timeout fired as the client reused it looks like.
    let connections = 0;
    const server = net.createServer((socket) => {
      connections++;
      let answered = false;
      socket.on('data', () => {
        if (answered) {
          socket.destroy();
          return;
        }
        answered = true;
        const body = '{"jobs":[]}';
        socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: keep-alive\r\n\r\n${body}`);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.after(() => new Promise<void>((r) => server.close(() => r())));
    const client = new FlinkRestClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, timeoutMs: 2000, concurrency: 1 });
    t.after(() => client.close());
    assert.deepEqual(await client.jobsOverview(), []);
    assert.deepEqual(await client.jobsOverview(), [], 'the GET on the closed connection was sent again');
    assert.equal(connections, 2);
    await assert.rejects(client.runJar('jar', {}), (err: unknown) => err instanceof FlowpilotError && err.code === 'FP_FLINK_UNREACHABLE', 'a POST is not repeated');
  });
});
