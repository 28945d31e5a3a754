import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { preflight, portProblem, type PreflightFlags } from './preflight.ts';

const root = join(import.meta.dirname, '..', '..');

function listen(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve({ server, port: typeof a === 'object' && a ? a.port : 0 });
    });
  });
}

const BAD_POLICY = `utilization:
  target: 1.5
maxParallelism: 4
schedules:
  - name: nightly
    cron: "not a cron"
    duration: 10m
`;

function flags(over: Partial<PreflightFlags>): PreflightFlags {
  return { taskmanagers: '2', slots: '4', restPort: '0', metricsPort: '0', agentPort: '0', stateDir: tmpdir(), job: 'order-enrichment', agent: true, ...over };
}

test('preflight lists every problem: flags, a busy port, the job, and each policy problem with its location', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fp-preflight-'));
  const busy = await listen();
  try {
    const policy = join(dir, 'policy.yaml');
    writeFileSync(policy, BAD_POLICY);
    const problems = await preflight(flags({ slots: '0', agentPort: String(busy.port), job: 'nope', policy }));
    assert.equal(problems.length, 6, problems.join('\n'));
    assert.match(problems[0]!, /--slots must be an integer ≥ 1, got "0"/);
    assert.match(problems[1]!, new RegExp(`--agent-port ${busy.port} \\(the agent's HTTP API\\): 127\\.0\\.0\\.1:${busy.port} is in use`));
    assert.match(problems[2]!, /--job nope: not a sample job/);
    const policyLines = problems.slice(3);
    assert.ok(policyLines.some((l) => /policy\.yaml:2:11: utilization\.target: Too big/.test(l)), policyLines.join('\n'));
    assert.ok(policyLines.some((l) => /policy\.yaml:3:1: maxParallelism: unknown key "maxParallelism"/.test(l)), policyLines.join('\n'));
    assert.ok(policyLines.some((l) => /policy\.yaml:6:11: schedules\.0\.cron/.test(l)), policyLines.join('\n'));
  } finally {
    busy.server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('preflight passes good flags, and flags one port given twice', async () => {
  assert.deepEqual(await preflight(flags({ agent: false })), []);
  const free = await listen();
  const port = free.port;
  free.server.close();
  const problems = await preflight(flags({ restPort: String(port), agentPort: String(port) }));
  assert.deepEqual(problems, [`--agent-port ${port}: also given to --rest-port`]);
  assert.equal(await portProblem(port), null);
});

test('up with a bad policy and a busy port exits 1 listing both, and starts nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fp-preflight-up-'));
  const busy = await listen();
  const rest = await listen();
  const restPort = rest.port;
  rest.server.close();
  try {
    writeFileSync(join(dir, 'policy.yaml'), BAD_POLICY);
    const child = spawn(process.execPath, [join(root, 'cli/main.ts'), 'up', '--no-live', '--rest-port', String(restPort), '--metrics-port', '0',
      '--agent-port', String(busy.port), '--policy', 'policy.yaml', '--state-dir', join(dir, 'state')], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 1, out);
    assert.match(out, /nothing was started; 4 problems to fix/);
    assert.match(out, /is in use by another process/);
    assert.match(out, /utilization\.target/);
    assert.doesNotMatch(out, /flowpilot is up/);
    assert.equal(await portProblem(restPort), null, 'no JobManager was started on the REST port');
    assert.equal(existsSync(join(dir, 'state')), false, 'the state directory was not created');
  } finally {
    busy.server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
