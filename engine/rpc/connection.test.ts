import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RpcConnection, listenRpc, type RpcEnvelope } from './connection.ts';

async function pair(handler: (msg: RpcEnvelope) => unknown) {
  let server: RpcConnection | null = null;
  const l = await listenRpc('127.0.0.1', 0, (conn) => {
    server = conn;
    conn.handler = handler;
  });
  try {
    const client = await RpcConnection.connect('127.0.0.1', l.port, 2000);
    while (!server) await new Promise((r) => setTimeout(r, 5));
    return { client, server: () => server!, close: () => l.close() };
  } catch (err) {
    await l.close();
    throw err;
  }
}

describe('RPC connection', () => {
  it('answers requests, including large binary payloads, and delivers one-way messages', async (t) => {
    const seen: string[] = [];
    const p = await pair((msg) => {
      seen.push(msg.t);
      if (msg.t === 'echo') return { bytes: msg.bytes, n: (msg.n as number) + 1 };
      return undefined;
    });
    t.after(() => p.close());
    const bytes = new Uint8Array(3_000_000).map((_, i) => i % 251);
    const reply = await p.client.request({ t: 'echo', n: 41, bytes }, 5000);
    assert.equal(reply.n, 42);
    assert.deepEqual(new Uint8Array(reply.bytes as Uint8Array), bytes);
    p.client.send({ t: 'note' });
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(seen, ['echo', 'note']);
  });

  it('rejects with the remote error, on timeout, on abort, and when the connection is lost', async (t) => {
    const p = await pair((msg) => {
      if (msg.t === 'boom') throw new Error('remote says no');
      return new Promise(() => undefined); // never answers
    });
    t.after(() => p.close());
    await assert.rejects(p.client.request({ t: 'boom' }, 2000), /remote says no/);
    await assert.rejects(p.client.request({ t: 'slow' }, 100), (e: { code?: string }) => e.code === 'FP_RPC_TIMEOUT');
    const ac = new AbortController();
    const aborted = p.client.request({ t: 'slow' }, 5000, ac.signal);
    ac.abort();
    await assert.rejects(aborted, (e: { code?: string }) => e.code === 'FP_RPC_ABORTED');
    const lost = p.client.request({ t: 'slow' }, 5000);
    p.server().destroy();
    await assert.rejects(lost, (e: { code?: string }) => e.code === 'FP_RPC_CLOSED');
    assert.equal(p.client.closed, true);
  });

  it('gives up connecting after its timeout', async () => {
    await assert.rejects(RpcConnection.connect('127.0.0.1', 1, 500), (e: { code?: string }) => e.code === 'FP_RPC_CONNECT');
  });
});
