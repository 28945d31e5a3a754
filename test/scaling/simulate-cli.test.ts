import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(root, 'cli/main.ts'), ...args], { cwd: root, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('flowpilot scale simulate', () => {
  it('prints the figures for flowpilot and the Flink-autoscaler baseline from one run', async () => {
    const out = await run(['scale', 'simulate', '--trace', 'synthetic:step', '--hours', '2', '--only', 'flowpilot,flink-autoscaler', '--json']);
    assert.equal(out.code, 0, out.stderr);
    const body = JSON.parse(out.stdout) as { trace: string; results: Array<{ name: string; hours: number; slotHours: number; rescales: number }> };
    assert.equal(body.trace, 'synthetic:step');
    assert.deepEqual(body.results.map((r) => r.name), ['flowpilot', 'flink-autoscaler']);
    assert.ok(body.results.every((r) => r.hours === 2 && r.slotHours > 0));
  });

  it('rejects an unknown trace with the list of known ones', async () => {
    const out = await run(['scale', 'simulate', '--trace', 'synthetic:sawtooth']);
    assert.notEqual(out.code, 0);
    assert.match(out.stderr, /unknown synthetic trace "sawtooth"; use one of step, ramp, diurnal, spikes/);
  });

  it('validates a policy file with its location', async () => {
    const out = await run(['scale', 'check-policy', join(root, 'package.json')]);
    assert.notEqual(out.code, 0);
    assert.match(out.stderr, /package\.json:\d+:\d+: /);
  });
});
