/**
 * Agent evaluation benchmark (issue 4): a synthetic Flink job of V vertices x P subtasks
 * (64 x 128 = about 100k series) served in Flink's Prometheus format, scraped and evaluated
 * with the default rule pack by the real Prometheus 2.42 and then by the agent (in a child
 * process), in the same run. Prints CPU time and RSS side by side and checks the targets:
 * agent rule evaluation <= 1.0 x Prometheus's, agent RSS <= 300 MB.
 *
 * Usage: node bench/agent-eval/run.ts [--vertices 64] [--subtasks 128] [--interval 5000]
 *          [--warm 2] [--measured 8] [--seed 1] [--cpu-prof] [--write] [--json FILE] [--time-limit 240]
 *   --cpu-prof  profile one extra agent cycle and print its top frames
 *   --write     put the report under "## Agent evaluation" in BENCHMARKS.md (under flock)
 *   --agent-node-flags "--max-semi-space-size=16"   extra Node flags for the agent child (experiments)
 *   --deployed N  after the cycles, run the agent's loops as deployed (each at its offset, real timers) for N intervals (default 3)
 *   --unpaced   run the agent's cycles back to back instead of one interval apart (quicker; no idle time for GC)
 * Finishes by itself within --time-limit seconds (default 240), killing Prometheus and every
 * child on any exit. Exit code 0 when both targets are met, 1 when one is missed, 2 on error.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { killEverythingNow, profileDir, runBenchmark } from './bench.ts';
import { renderReport, summarize } from './report.ts';
import { flags } from './args.ts';

const HERE = import.meta.dirname;
const ROOT = resolve(HERE, '../..');
const argv = process.argv.slice(2);
const { arg, num, agentNodeFlags } = flags(argv);

const vertices = num('--vertices', 64);
const subtasks = num('--subtasks', 128);
const intervalMs = num('--interval', 5_000);
const warm = num('--warm', 2);
const measured = num('--measured', 8);
const seed = num('--seed', 1);
const timeLimitS = num('--time-limit', 240);
const started = Date.now();
const deadline = started + timeLimitS * 1000;

process.on('exit', killEverythingNow);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    killEverythingNow();
    process.exit(130);
  });
}
// The last line of defence for "finishes by itself": nothing may outlive the limit.
setTimeout(() => {
  process.stderr.write(`agent-eval: time limit of ${timeLimitS} s reached; stopping everything\n`);
  killEverythingNow();
  process.exit(2);
}, timeLimitS * 1000 + 5_000).unref();

const command = `node bench/agent-eval/run.ts ${argv.join(' ')}`.trim();
try {
  const result = await runBenchmark({
    vertices,
    subtasks,
    intervalMs,
    warm,
    measured,
    seed,
    deadline,
    ...(argv.includes('--cpu-prof') ? { profileDir: profileDir() } : {}),
    ...(argv.includes('--unpaced') ? { paced: false } : {}),
    ...(arg('--deployed') !== undefined ? { deployedIntervals: Math.max(0, Math.floor(Number(arg('--deployed')))) } : {}),
    ...(arg('--agent-node-flags') ? { agentNodeFlags: agentNodeFlags() } : {}),
    log: (line) => process.stderr.write(`agent-eval: ${line}\n`),
  });
  const summary = summarize(result);
  const report = renderReport(result, summary);
  const elapsed = ((Date.now() - started) / 1000).toFixed(0);
  process.stdout.write(`${report}\n\n(${elapsed} s)\n`);
  if (result.agent.profile) process.stderr.write(`agent-eval: CPU profiles kept in ${result.agent.profile.files.join(', ')}\n`);
  const jsonFile = arg('--json');
  if (jsonFile) writeFileSync(jsonFile, JSON.stringify({ result, summary }, null, 2));
  if (argv.includes('--write')) {
    const date = new Date().toISOString().slice(0, 10);
    const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
    const body = `Measured ${date} on ${cpus().length} cores (${cpu}, shared with other work), Node ${process.version}, with\n\`${command}\` (${elapsed} s).\n\n${report}\n`;
    const tmp = mkdtempSync(join(tmpdir(), 'fp-agent-eval-md-'));
    try {
      writeFileSync(join(tmp, 'body.md'), body);
      const w = spawnSync('flock', ['/tmp/fp-bench.lock', process.execPath, join(HERE, 'write-section.ts'), join(ROOT, 'BENCHMARKS.md'), 'Agent evaluation', join(tmp, 'body.md')], { stdio: 'inherit', timeout: 60_000 });
      if (w.status !== 0) throw new Error(`writing BENCHMARKS.md failed (status ${w.status})`);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    process.stderr.write('agent-eval: wrote "## Agent evaluation" in BENCHMARKS.md\n');
  }
  process.exitCode = summary.checks.every((c) => c.ok) ? 0 : 1;
} catch (err) {
  process.stderr.write(`agent-eval: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 2;
}
killEverythingNow();
process.exit(process.exitCode ?? 0);
