/**
 * `flowpilot agent`'s flags as the CLI defines them: exactly the flags generated from the config
 * schema (plus --config), loaded only when the command needs them, stored under the names the
 * config resolver reads; `help agent` lists them; a real agent started
 * with generated flags uses them; unknown flags and bad values fail before anything starts, with
 * the flag named and the closest key suggested.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildProgram } from '../../cli/program.ts';
import { agentFlags } from '../../agent/process/flags.ts';
import { attributeOf } from '../../common/schema-flags.ts';
import { startChild, waitFor, waitForListening } from '../support/processes.ts';

const CLI = resolve(import.meta.dirname, '../../cli/main.ts');

function runCli(args: string[], cwd: string): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stderr: r.stderr };
}

describe('flowpilot agent flags', () => {
  it('are the flags generated from the schema, each stored under the name the resolver reads', async () => {
    const program = await buildProgram();
    const agent = program.commands.find((c) => c.name() === 'agent')!;
    assert.deepEqual(agent.options.map((o) => o.long), ['--config'], 'the schema is not loaded until the command needs it');
    const help = agent.helpInformation();
    const expected = ['--config', ...agentFlags().flatMap((f) => (f.kind === 'boolean' ? [f.flag, `--no-${f.flag.slice(2)}`] : [f.flag]))];
    assert.deepEqual(agent.options.map((o) => o.long), expected);
    const attribute = new Map(agent.options.map((o) => [o.long, o.attributeName()]));
    for (const f of agentFlags()) assert.equal(attribute.get(f.flag), attributeOf(f.flag), f.flag);
    for (const flag of ['--scrape.interval <duration>', '--query.lookback-delta <duration>', '--web.config.file <value>', '--flink-url <url...>', '--scrape <[job=]url...>', '--dry-run ']) {
      assert.ok(help.includes(`  ${flag}`), `help lists ${flag}`);
    }
    assert.ok(!help.includes('  --no-dry-run'), 'the negations are not listed on lines of their own');
  });

  it('refuse an unknown flag, naming it and the closest key, and a bad value, naming its flag', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-agent-flags-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const cases: Array<[string[], RegExp]> = [
      [['--scrape-intervall', '5s'], /unknown option '--scrape-intervall' for flowpilot agent; did you mean --scrape-interval \(config key scrape\.interval\)\? \[FP_CLI_USAGE\]/],
      [['--query.lookbackDelta', '1m'], /unknown option '--query\.lookbackDelta' for flowpilot agent; did you mean --query\.lookback-delta \(config key query\.lookbackDelta\)\?/],
      [['--scrape.interval', 'fast'], /--scrape\.interval: "fast" is not a duration: not a valid duration string: "fast": "f" at character 1/],
      [['--storage.max-series', 'many'], /--storage\.max-series: "many" is not an integer \[FP_CLI_USAGE\]/],
      [['--listen.port', '1'], /--port and --listen\.port both set listen\.port; give one of them/],
      [['stray'], /unexpected argument 'stray' for flowpilot agent/],
    ];
    const help = spawnSync(process.execPath, [CLI, 'help', 'agent'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /--scrape\.max-backoff <duration>/);
    for (const [args, re] of cases) {
      const r = runCli(['agent', '--port', '0', ...args], dir);
      assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
      assert.doesNotMatch(r.stderr, /listening/);
    }
  });

  it('start an agent whose keys are set by their generated flags', { timeout: 120_000 }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-agent-flags-'));
    const rules = join(dir, 'rules.yml');
    writeFileSync(rules, 'groups:\n  - name: g\n    rules:\n      - record: one\n        expr: vector(1)\n');
    const child = startChild(process.execPath, [CLI, 'agent', '--listen.port', '0', '--listen.host', '127.0.0.1', '--rules.files', rules, '--rules.evaluation-interval', '2s', '--no-scrape.self', '--actuation.journal.dir', join(dir, 'journal')], { cwd: dir });
    t.after(async () => {
      await child.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    const base = await waitForListening(child);
    const group = await waitFor('the rule group', async () => {
      const body = (await (await fetch(`${base}/api/v1/rules`)).json()) as { data: { groups: Array<{ name: string; interval: number }> } };
      return body.data.groups.find((g) => g.name === 'g');
    });
    assert.equal(group.interval, 2, '--rules.evaluation-interval 2s');
    const targets = (await (await fetch(`${base}/api/v1/targets`)).json()) as { data: { activeTargets: Array<{ labels: Record<string, string> }> } };
    assert.ok(!targets.data.activeTargets.some((x) => x.labels.job === 'flowpilot-agent'), '--no-scrape.self: the agent does not scrape itself');
  });
});
