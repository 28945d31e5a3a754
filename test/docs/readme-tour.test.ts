/**
 * The README's "A short tour", run as written from a copy of the committed tree (what a fresh clone
 * holds; node_modules linked from this checkout in place of `npm install`). `up` runs with the
 * README's arguments plus --no-live and free ports; the other commands get those ports in place of
 * the defaults the README shows (8081 REST, 9249 JobManager metrics, 9250-9252 the three TaskManagers, 9269 agent).
 * Every command must exit 0 and print something, so a `grep` on the wrong port fails the test.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from '../support/processes.ts';

const root = join(import.meta.dirname, '..', '..');

/** The shell lines of the tour's code blocks, comments removed. */
export function tourCommands(readme: string): string[] {
  const start = readme.indexOf('## A short tour');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const out: string[] = [];
  for (const block of section.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of block[1]!.split('\n')) {
      const cmd = line.replace(/\s+#.*$/, '').trim();
      if (cmd !== '' && !cmd.startsWith('#')) out.push(cmd);
    }
  }
  return out;
}

const commands = tourCommands(readFileSync(join(root, 'README.md'), 'utf8'));
const upLine = commands.find((c) => c.startsWith('bin/flowpilot up'));
const gitMissing = spawnSync('git', ['-C', root, 'rev-parse', 'HEAD']).status !== 0;

describe('README tour, from a copy of the committed tree', { skip: gitMissing ? 'not a git checkout' : false, timeout: 300_000 }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'flowpilot-tour-'));
  const clone = join(tmp, 'flowpilot');
  const ports = { rest: 0, metrics: 0, agent: 0 };
  let up: ChildProcess | null = null;
  let upOut = '';

  before(async () => {
    mkdirSync(clone);
    const tar = execFileSync('git', ['-C', root, 'archive', '--format=tar', 'HEAD'], { maxBuffer: 256 * 1024 * 1024 });
    execFileSync('tar', ['-x', '-C', clone], { input: tar });
    symlinkSync(join(root, 'node_modules'), join(clone, 'node_modules'));
    ports.rest = await freePort();
    ports.agent = await freePort();
    // The TaskManagers take the ports after the JobManager's metrics port: leave a gap from the others.
    ports.metrics = 20_000 + Math.floor(Math.random() * 20_000);
  });

  after(async () => {
    if (up && up.exitCode === null) {
      up.kill('SIGINT');
      await new Promise((r) => setTimeout(r, 100));
      const exited = new Promise((r) => up!.once('exit', r));
      await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
      if (up.exitCode === null) up.kill('SIGKILL');
    }
    rmSync(tmp, { recursive: true, force: true });
  });

  const portsFor = (cmd: string): string =>
    cmd
      .replaceAll('localhost:8081', `localhost:${ports.rest}`)
      .replaceAll('localhost:9249', `localhost:${ports.metrics}`)
      .replaceAll('localhost:9250', `localhost:${ports.metrics + 1}`)
      .replaceAll('localhost:9251', `localhost:${ports.metrics + 2}`)
      .replaceAll('localhost:9252', `localhost:${ports.metrics + 3}`)
      .replace(/^bin\/flowpilot scale explain\b/, `bin/flowpilot scale explain --url http://127.0.0.1:${ports.agent}`);

  test('the tour starts the stack with `up` and lists the commands it promises', async () => {
    assert.ok(upLine, 'the tour starts the stack with bin/flowpilot up');
    assert.ok(commands.length >= 9, commands.join('\n'));
    const args = [...upLine.split(/\s+/).slice(1), '--no-live', '--rest-port', String(ports.rest), '--metrics-port', String(ports.metrics), '--agent-port', String(ports.agent), '--state-dir', join(tmp, 'state')];
    up = spawn(join(clone, 'bin', 'flowpilot'), args, { cwd: clone, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FLOWPILOT_LOG_LEVEL: 'warn' } });
    up.stdout!.on('data', (d: Buffer) => (upOut += d.toString()));
    up.stderr!.on('data', (d: Buffer) => (upOut += d.toString()));
    await waitFor('flowpilot up', () => upOut.includes('Press Ctrl-C'), 120_000, 200);
    // What `up` prints is what the README says: TaskManager 1 on the port after the JobManager's.
    assert.match(upOut, new RegExp(`TaskManager 1 {2}metrics http://127\\.0\\.0\\.1:${ports.metrics + 1}/metrics`));
    // The agent answers before the commands that need it run; explain needs one decision.
    await waitFor('a scaling decision', async () => {
      const r = await fetch(`http://127.0.0.1:${ports.agent}/api/v1/scaling/decisions`);
      return r.ok && ((await r.json()) as { decisions: unknown[] }).decisions.length > 0;
    }, 90_000, 500);
  });

  for (const cmd of commands.filter((c) => c !== upLine)) {
    test(`README: ${cmd}`, () => {
      assert.ok(up && up.exitCode === null, `up is not running:\n${upOut.slice(-2000)}`);
      const r = spawnSync('sh', ['-c', portsFor(cmd)], { cwd: clone, encoding: 'utf8', timeout: 120_000, env: { ...process.env, FLOWPILOT_LOG_LEVEL: 'warn' } });
      assert.equal(r.status, 0, `${portsFor(cmd)} exited ${r.status}\n${r.stdout.slice(-1500)}\n${r.stderr.slice(-1500)}`);
      assert.ok(r.stdout.trim().length > 0, `${cmd} printed nothing`);
    });
  }
});
