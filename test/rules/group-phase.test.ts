/**
 * Rule groups evaluate at the same phase within their interval as in Prometheus: a real
 * Prometheus 2.42 evaluates a recording rule, and the timestamp of the recorded sample
 * must sit exactly on the grid RuleGroup.evalTimestamp computes for the same file path.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { parseRuleFile } from '../../agent/rules/rulefile.ts';
import { RuleGroup } from '../../agent/rules/group.ts';

const PROMETHEUS = '/usr/bin/prometheus';

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('group evaluation phase', () => {
  it('matches the phase Prometheus picks for the same group and file', async (t) => {
    if (!existsSync(PROMETHEUS)) {
      if (process.env.CI === 'true') assert.fail(`${PROMETHEUS} is required under CI`);
      t.skip(`${PROMETHEUS} not installed (Debian package prometheus)`);
      return;
    }
    const dir = await mkdtemp(join(tmpdir(), 'fp-phase-'));
    const rules = join(dir, 'rules.yml');
    const text = 'groups:\n  - name: phase-check\n    interval: 2s\n    rules:\n      - record: fp_phase_probe\n        expr: vector(1)\n';
    await writeFile(rules, text);
    await writeFile(join(dir, 'prometheus.yml'), `global: {evaluation_interval: 2s}\nrule_files: [${JSON.stringify(rules)}]\n`);
    const port = await freePort();
    const prom = spawn(PROMETHEUS, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
    t.after(async () => {
      prom.kill('SIGTERM');
      await new Promise((r) => prom.once('exit', r));
      await rm(dir, { recursive: true, force: true });
    });
    let tsMs: number | null = null;
    const deadline = Date.now() + 15_000;
    while (tsMs === null && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      try {
        const res = await request(`http://127.0.0.1:${port}/api/v1/query?query=timestamp(fp_phase_probe)`, { signal: AbortSignal.timeout(1000) });
        const body = (await res.body.json()) as { data?: { result?: Array<{ value: [number, string] }> } };
        const v = body.data?.result?.[0]?.value[1];
        if (v !== undefined) tsMs = Math.round(Number(v) * 1000);
      } catch {
        // not up yet
      }
    }
    assert.ok(tsMs !== null, 'Prometheus recorded nothing in 15 s');
    const def = parseRuleFile(text, rules).groups[0];
    const group = new RuleGroup(def, 60_000);
    assert.equal(group.evalTimestamp(tsMs), tsMs, `Prometheus evaluated at ${tsMs}, off our grid (offset ${group.evalTimestamp(0) % 2000})`);
  });
});
