/**
 * `flowpilot rules check` accepts and refuses the same files as `promtool check rules`
 * (Debian's 2.42), exits with the same code, and names file:line:col for every problem.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const cli = join(root, 'cli', 'main.ts');
const PROMTOOL = '/usr/bin/promtool';

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, out: stdout + stderr });
    });
  });
}

const head = 'groups:\n  - name: g\n    rules:\n';
const cases: Array<{ name: string; text: string; ok: boolean; where?: string; code?: string }> = [
  { name: 'good', text: `${head}      - alert: A\n        expr: up == 0\n        for: 1m\n        keep_firing_for: 5m\n        labels: {severity: page}\n        annotations: {s: "{{ $value | humanize }}"}\n      - record: job:up:sum\n        expr: sum by (job) (up)\n`, ok: true },
  { name: 'bad-duration', text: `${head}      - alert: A\n        expr: up\n        for: 5 minutes\n`, ok: false, where: ':6:14:', code: 'FP_RULE_DURATION' },
  { name: 'unknown-field', text: `${head}      - alert: A\n        expr: up\n        severity: page\n`, ok: false, where: ':6:9:', code: 'FP_RULE_UNKNOWN_FIELD' },
  { name: 'query-offset', text: 'groups:\n  - name: g\n    query_offset: 1m\n    rules: []\n', ok: false, where: ':3:5:', code: 'FP_RULE_UNKNOWN_FIELD' },
  { name: 'bad-expr', text: `${head}      - record: a\n        expr: rate(x[5m]\n`, ok: false, where: ':5:25:', code: 'FP_RULE_EXPR' },
  { name: 'bad-template', text: `${head}      - alert: A\n        expr: up\n        annotations: {s: "{{ $value | nosuchfunc }}"}\n`, ok: false, where: ':6:39:', code: 'FP_RULE_TEMPLATE' },
  { name: 'dup-group', text: 'groups:\n  - name: g\n    rules: []\n  - name: g\n    rules: []\n', ok: false, where: ':4:5:', code: 'FP_RULE_GROUP_DUP' },
  { name: 'both-kinds', text: `${head}      - alert: A\n        record: b\n        expr: up\n`, ok: false, where: ':4:9:', code: 'FP_RULE_KIND' },
  { name: 'record-name', text: `${head}      - record: "a-b"\n        expr: up\n`, ok: false, where: ':4:17:', code: 'FP_RULE_NAME' },
  { name: 'record-for', text: `${head}      - record: a\n        expr: up\n        for: 1m\n`, ok: false, where: ':6:14:', code: 'FP_RULE_FIELD' },
  { name: 'label-name', text: `${head}      - alert: A\n        expr: up\n        labels: {"0x": y}\n`, ok: false, where: ':6:18:', code: 'FP_RULE_LABEL' },
  { name: 'yaml', text: 'groups:\n  - name: g\n   rules: [\n', ok: false, code: 'FP_RULE_YAML' },
];

describe('flowpilot rules check', () => {
  it('accepts and refuses what promtool does, with file:line:col and a code', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'fp-check-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const havePromtool = existsSync(PROMTOOL);
    if (!havePromtool && process.env.CI === 'true') assert.fail(`${PROMTOOL} is required under CI`);
    const files: string[] = [];
    for (const c of cases) {
      const file = join(dir, `${c.name}.yml`);
      await writeFile(file, c.text);
      files.push(file);
    }
    // One flowpilot run over all files (starting node per file would be slow); promtool per file.
    const ours = await run(process.execPath, [cli, 'rules', 'check', ...files], dir);
    assert.equal(ours.code, 1, ours.out);
    assert.equal([...ours.out.matchAll(/SUCCESS: 2 rules found/g)].length, cases.filter((c) => c.ok).length);
    for (const [i, c] of cases.entries()) {
      const file = files[i];
      const mentioned = ours.out.split('\n').filter((l) => l.startsWith(`${file}:`));
      assert.equal(mentioned.length > 0, !c.ok, `${c.name}: ${ours.out}`);
      if (c.where) assert.ok(mentioned.some((l) => l.startsWith(`${file}${c.where}`)), `${c.name}: expected ${c.where} in ${mentioned.join('\n')}`);
      if (c.code) assert.ok(mentioned.some((l) => l.endsWith(`[${c.code}]`)), `${c.name}: expected ${c.code} in ${mentioned.join('\n')}`);
      if (havePromtool) {
        const theirs = await run(PROMTOOL, ['check', 'rules', file], dir);
        assert.equal(theirs.code, c.ok ? 0 : 1, `${c.name}: promtool said ${theirs.out}`);
      }
    }
    if (!havePromtool) t.skip(`${PROMTOOL} not installed: only flowpilot was checked`);
  });
});
