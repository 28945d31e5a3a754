/**
 * The CLI as users install it: `npm pack`, then the tarball installed globally into a temporary prefix
 * (`npm install -g --prefix`) and run through npx, from a directory outside the repository. npm runs
 * bins through symlinks, and the installed sources sit under node_modules (where Node does not strip
 * types by itself), so this covers bin/flowpilot's link resolution and bin/node-modules-ts.mjs.
 *
 * Dependencies come from the npm registry (--prefer-offline: from npm's cache when it has them).
 * The Node on PATH is this test's Node (package.json engines: >= 22.18), as a user's would be.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor, whichBinary } from '../support/processes.ts';

const root = join(import.meta.dirname, '..', '..');
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

function skipReason(): string | false {
  if (whichBinary('npm')) return false;
  if (process.env['CI'] === 'true') throw new Error('npm is not on PATH');
  return 'npm is not on PATH';
}

const tmp = mkdtempSync(join(tmpdir(), 'flowpilot-pack-'));
const prefix = join(tmp, 'prefix');
const work = join(tmp, 'work');
const nodeBin = join(tmp, 'node-bin');
let tarball = '';

/** PATH with this test's Node first; nothing else from the repository. */
const env = (): NodeJS.ProcessEnv => ({ ...process.env, PATH: `${nodeBin}:${process.env['PATH'] ?? ''}`, FLOWPILOT_LOG_LEVEL: 'warn' });

function run(cmd: string, args: string[], cwd = work, timeoutMs = 240_000): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { cwd, env: env(), encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? String(r.error) : '') };
}

const GOOD_RULES = `groups:
  - name: demo
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
      - alert: Down
        expr: up == 0
        for: 1m
`;
const BAD_RULES = `groups:
  - name: demo
    rules:
      - record: job:up:sum
        expr: sum by (job) (up
`;

describe('the packed CLI, installed as users install it', { skip: skipReason(), timeout: 600_000 }, () => {
  before(() => {
    mkdirSync(work, { recursive: true });
    mkdirSync(nodeBin, { recursive: true });
    symlinkSync(process.execPath, join(nodeBin, 'node'));
    const packed = run('npm', ['pack', '--pack-destination', tmp, '--loglevel=error'], root);
    assert.equal(packed.code, 0, packed.stderr);
    const name = readdirSync(tmp).find((f) => f.endsWith('.tgz'));
    assert.ok(name, 'npm pack wrote a tarball');
    tarball = join(tmp, name);
    writeFileSync(join(work, 'good.yml'), GOOD_RULES);
    writeFileSync(join(work, 'bad.yml'), BAD_RULES);
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  test('the tarball holds the CLI and its runtime files, not the tests', () => {
    const list = run('tar', ['tzf', tarball]).stdout.split('\n');
    for (const f of ['package/bin/flowpilot', 'package/bin/node-modules-ts.mjs', 'package/cli/main.ts', 'package/engine/jobs/order-enrichment.ts', 'package/rules/flink-alerts.yml']) {
      assert.ok(list.includes(f), `${f} is packed`);
    }
    assert.equal(list.filter((f) => f.endsWith('.test.ts')).length, 0, 'no test files');
  });

  describe('npm install -g --prefix', () => {
    const flowpilot = join(prefix, 'bin', 'flowpilot');
    before(() => {
      const r = run('npm', ['install', '-g', '--prefix', prefix, tarball, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], tmp);
      assert.equal(r.code, 0, r.stderr);
    });

    test('flowpilot --version (through the bin symlink)', () => {
      const r = run(flowpilot, ['--version']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), version);
      assert.equal(r.stderr, '', 'no warnings');
    });

    test('flowpilot rules check: a good file passes, a bad one fails with its location', () => {
      const good = run(flowpilot, ['rules', 'check', 'good.yml']);
      assert.equal(good.code, 0, good.stderr);
      assert.match(good.stdout, /SUCCESS: 2 rules found/);
      const bad = run(flowpilot, ['rules', 'check', 'bad.yml']);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stdout + bad.stderr, /bad\.yml/);
    });

    test('flowpilot up --no-live starts the stack, and SIGINT stops all of it', async () => {
      const agentPort = await freePort();
      const child = spawn(flowpilot, ['up', '--no-live', '--rest-port', '0', '--metrics-port', '0', '--agent-port', String(agentPort), '--state-dir', join(work, 'state')], {
        cwd: work,
        env: env(),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      try {
        const restUrl = await waitFor('"flowpilot is up" with the JobManager REST URL', () => /JobManager\s+REST (http:\/\/\S+)/.exec(stdout)?.[1], 120_000, 200);
        const jobs = (await (await fetch(`${restUrl}/jobs/overview`)).json()) as { jobs: Array<{ state: string }> };
        assert.ok(jobs.jobs.length > 0, 'the sample job was submitted');
        await waitFor('the agent', async () => (await fetch(`http://127.0.0.1:${agentPort}/healthz`)).ok, 60_000, 250);
        child.kill('SIGINT');
        assert.equal(await exited, 0, stderr.slice(-3000));
        await assert.rejects(fetch(`${restUrl}/overview`), 'the JobManager is gone');
        await assert.rejects(fetch(`http://127.0.0.1:${agentPort}/healthz`), 'the agent is gone');
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    });
  });

  test('npx --package <tarball> flowpilot', () => {
    const v = run('npx', ['--yes', '--prefer-offline', '--package', tarball, '--', 'flowpilot', '--version']);
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.stdout.trim(), version);
    const check = run('npx', ['--yes', '--prefer-offline', '--package', tarball, '--', 'flowpilot', 'rules', 'check', 'good.yml']);
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, /SUCCESS: 2 rules found/);
  });
});
