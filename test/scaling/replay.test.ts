import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { ObservationBuilder } from '../../agent/scaling/observation-builder.ts';

const root = join(import.meta.dirname, '..', '..');

describe('flowpilot scale replay', () => {
  it('answers each observation line before the next is sent (closed loop over stdin/stdout)', async (t) => {
    const child = spawn(process.execPath, [join(root, 'cli/main.ts'), 'scale', 'replay', '-'], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
    t.after(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const next = async (): Promise<Record<string, unknown>> => {
      const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within 10 s; stderr: ${stderr}`)), 10_000).unref());
      const r = await Promise.race([lines.next(), timeout]);
      assert.equal(r.done, false);
      return JSON.parse(r.value as string) as Record<string, unknown>;
    };
    const b = new ObservationBuilder('job-r', [
      { id: 'src', parallelism: 2, partitions: 8 },
      { id: 'map', parallelism: 2, inputs: [{ id: 'src', shipStrategy: 'REBALANCE' }] },
    ]);
    let p = 2;
    let pending = 0;
    let rescaled: Record<string, unknown> | undefined;
    for (let i = 0; i < 14 && !rescaled; i++) {
      const arrival = i < 8 ? 4000 : 9000;
      const processed = Math.min(arrival + pending / 15, 2500 * p);
      pending = Math.max(0, pending + (arrival - processed) * 15);
      const obs = b.next(15, { src: { inRate: processed, busy: 0.1, pending }, map: { inRate: processed, busy: processed / (2500 * p) } });
      child.stdin.write(`${JSON.stringify(obs)}\n`);
      const d = await next(); // the answer must come before we send more
      assert.equal(d.time, obs.time);
      assert.ok(d.action === 'none' || d.action === 'rescale');
      assert.ok(Array.isArray(d.reasons));
      if (d.action === 'rescale') {
        rescaled = d;
        p = (d.parallelism as Record<string, number>).map!;
        b.restart(d.parallelism as Record<string, number>, 30);
      }
    }
    assert.ok(rescaled, 'the closed loop reached a rescale');
    assert.ok(p > 2);
    child.stdin.write('{"not": "an observation"}\n');
    const bad = await next();
    assert.match(String(bad.error), /stdin:\d+: field /);
    child.stdin.end();
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    assert.equal(code, 2, 'exit code 2 when a line was bad');
  });
});
