/**
 * `flowpilot scale ...`: the decision engine from the command line.
 *   replay [FILE|-]      decisions for recorded JSON-lines observations, one line out per line in
 *   simulate --trace T   closed-loop simulation against the plant model, with the baselines
 *   explain              the last decisions of a running agent, readably
 *   policy-docs          regenerate (or --check) docs/reference/scaling-policy.md
 *   check-policy FILE    validate a policy file
 *   set                  a manual rescale through the agent's realizers (cli/scale/set.ts)
 * Implementations are imported lazily inside each action.
 */
import type { Command } from 'commander';

async function loadPolicy(file: string | undefined) {
  const { defaultPolicy, loadPolicyFile } = await import('../../agent/scaling/policy.ts');
  return file ? loadPolicyFile(file) : defaultPolicy();
}

export function register(program: Command): void {
  const scale = program.command('scale').description('autoscaler decisions: replay, simulate, explain, policy reference, manual rescale');

  scale
    .command('replay')
    .description('read JSON-lines observations (docs/reference/replay.md) and write one decision JSON per line, flushed per line')
    .argument('[file]', 'observations file, or - for stdin', '-')
    .option('--policy <file>', 'scaling policy YAML')
    .option('--full', 'write full decisions (model numbers per vertex) instead of the compact form')
    .option('--epoch <time>', 'wall-clock time of the observations\' time 0 (ms since 1970 or ISO 8601): their times are ms since it')
    .option('--timezone <zone>', 'IANA time zone of the daily cycle (the seasonal forecast\'s phase), e.g. Europe/Berlin')
    .action(async (file: string, opts: { policy?: string; full?: boolean; epoch?: string; timezone?: string }) => {
      const { replay, parseEpoch } = await import('../../agent/simulate/replay.ts');
      const { createReadStream } = await import('node:fs');
      const { FlowpilotError } = await import('../../common/errors.ts');
      const policy = await loadPolicy(opts.policy);
      let epochMs: number | undefined;
      try {
        epochMs = opts.epoch === undefined ? undefined : parseEpoch(opts.epoch);
        if (opts.timezone !== undefined) new Intl.DateTimeFormat('en-US', { timeZone: opts.timezone });
      } catch (err) {
        throw new FlowpilotError('FP_CLI_USAGE', `${(err as Error).message.replace(/^Invalid time zone specified: (.*)$/, '--timezone $1 is not an IANA time zone')}`);
      }
      const input = file === '-' ? process.stdin : createReadStream(file);
      const res = await replay({
        input,
        output: process.stdout,
        policy,
        name: file === '-' ? 'stdin' : file,
        full: opts.full ?? false,
        ...(epochMs !== undefined ? { epochMs } : {}),
        ...(opts.timezone !== undefined ? { timeZone: opts.timezone } : {}),
      });
      if (res.errors > 0) process.exitCode = 2;
    });

  scale
    .command('simulate')
    .description('run the decision engine in closed loop against a plant model, beside the baselines')
    .requiredOption('--trace <spec>', 'CSV file of "seconds,rate" rows, or synthetic:step|ramp|diurnal|spikes|bursty|gaps|start-at-peak')
    .option('--plant <name>', 'job4 (the 4-vertex job) or single (one vertex, one knob)', 'job4')
    .option('--policy <file>', 'scaling policy YAML')
    .option('--hours <n>', 'length of the run (default: the trace length)', Number)
    .option('--seed <n>', 'random seed', Number, 1)
    .option('--slo <seconds>', 'lag SLO in seconds', Number, 60)
    .option('--only <names>', 'comma-separated autoscalers: flowpilot,flink-autoscaler,hpa-cpu,aws-msf-cpu,static-peak')
    .option('--json', 'print JSON instead of a table')
    .action(async (opts: { trace: string; plant: string; policy?: string; hours?: number; seed: number; slo: number; only?: string; json?: boolean }) => {
      const { compare, formatTable, plantByName } = await import('../../agent/simulate/scenario.ts');
      const { loadTrace } = await import('../../agent/simulate/traces.ts');
      const policy = await loadPolicy(opts.policy);
      const trace = loadTrace(opts.trace, opts.seed);
      const results = compare({ trace, policy, seed: opts.seed, sloSec: opts.slo, plant: plantByName(opts.plant), ...(opts.hours ? { hours: opts.hours } : {}), ...(opts.only ? { only: opts.only.split(',') } : {}) });
      process.stdout.write(opts.json ? `${JSON.stringify({ trace: trace.name, results }, null, 2)}\n` : `${formatTable(trace.name, results)}\n`);
    });

  scale
    .command('explain')
    .description('print the last scaling decisions of a running agent, with their reasons and model numbers')
    .option('--url <url>', 'agent base URL (the agent listens on 9269 by default)', 'http://127.0.0.1:9269')
    .option('--job <id>', 'only this job: its Flink job id, or NAMESPACE/NAME of its FlinkDeployment or FlinkSessionJob in fleet mode')
    .option('--limit <n>', 'how many decisions', Number, 5)
    .option('--json', 'print the raw JSON')
    .action(async (opts: { url: string; job?: string; limit: number; json?: boolean }) => {
      const { explainDecisions } = await import('../explain/render.ts');
      const { FlowpilotError } = await import('../../common/errors.ts');
      const u = new URL('/api/v1/scaling/decisions', opts.url);
      if (opts.job) u.searchParams.set('job', opts.job);
      u.searchParams.set('limit', String(opts.limit));
      let res: Response;
      try {
        res = await fetch(u, { signal: AbortSignal.timeout(10_000) });
      } catch (err) {
        throw new FlowpilotError('FP_AGENT_UNREACHABLE', `cannot reach the agent at ${u.origin}: ${(err as Error).message}; pass --url http://host:port`);
      }
      if (res.status === 404 && opts.job?.includes('/')) {
        // fleet mode: the job runs on another replica (or is not managed); the agent says which
        const body = (await res.json().catch(() => ({}))) as { error?: string };
        throw new FlowpilotError('FP_AGENT_HTTP', `${body.error ?? `${opts.job} is not managed by the agent at ${u.origin}`}; see GET /api/v1/scaling/jobs`);
      }
      if (!res.ok) throw new FlowpilotError('FP_AGENT_HTTP', `${u.href} answered HTTP ${res.status}`);
      const body = (await res.json()) as { decisions: import('../../agent/scaling/decision.ts').ScaleDecision[] };
      process.stdout.write(opts.json ? `${JSON.stringify(body, null, 2)}\n` : `${explainDecisions(body.decisions)}\n`);
    });

  scale
    .command('policy-docs')
    .description('regenerate docs/reference/scaling-policy.md from the policy schema')
    .option('--check', 'fail if the file is stale instead of writing it')
    .action(async (opts: { check?: boolean }) => {
      const { policyDocs, policyDocsPath } = await import('../../agent/scaling/policy-docs.ts');
      const { readFileSync, writeFileSync } = await import('node:fs');
      const text = policyDocs();
      if (opts.check) {
        let old = '';
        try {
          old = readFileSync(policyDocsPath, 'utf8');
        } catch {
          /* missing counts as stale */
        }
        if (old !== text) {
          process.stderr.write(`${policyDocsPath} is stale: run flowpilot scale policy-docs\n`);
          process.exitCode = 1;
        }
        return;
      }
      writeFileSync(policyDocsPath, text);
      process.stdout.write(`wrote ${policyDocsPath}\n`);
    });

  scale
    .command('set')
    .description('rescale a job by hand through the agent\'s realizers; --dry-run prints the exact request body as JSON')
    .option('--flinkdeployment <ns/name>', 'a FlinkDeployment: NATIVE patches only pipeline.jobvertex-parallelism-overrides, STANDALONE only spec.taskManager.replicas')
    .option('--flinksessionjob <ns/name>', 'a FlinkSessionJob: patches its own overrides (NATIVE session cluster)')
    .option('--deployment <ns/name>', 'a TaskManager Deployment (reactive mode): its scale subresource')
    .option('--statefulset <ns/name>', 'a TaskManager StatefulSet (reactive mode): its scale subresource')
    .option('--flink-url <url>', 'in place through Flink REST (with --job); with a Kubernetes target, also used to verify the job over REST')
    .option('--job <id>', 'the Flink job id')
    .option('--vertex <id=p>', 'target parallelism of one vertex (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--taskmanagers <n>', 'TaskManager count (Deployment, STANDALONE)', Number)
    .option('--slots <n>', 'slots per TaskManager, to derive the TaskManager count (Deployment)', Number)
    .option('--from-file <file>', 'with --dry-run: read the FlinkDeployment/FlinkSessionJob from YAML; no API server is contacted')
    .option('--cluster-file <file>', 'with --from-file for a FlinkSessionJob: its session cluster FlinkDeployment')
    .option('--dry-run', 'change nothing; print the request body as JSON on stdout and the expected outcome on stderr')
    .option('--kubeconfig <file>', 'kubeconfig (default: the usual chain)')
    .option('--journal-dir <dir>', 'intent journal directory', './.flowpilot/journal')
    .option('--timeout <seconds>', 'how long to wait for the rescale to finish', Number, 300)
    .action(async (opts: import('../scale/set.ts').ScaleSetOptions) => {
      const { scaleSet } = await import('../scale/set.ts');
      process.exitCode = await scaleSet(opts, { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) });
    });

  scale
    .command('check-policy')
    .description('validate a scaling policy file (errors as file:line:col)')
    .argument('<file>')
    .action(async (file: string) => {
      await loadPolicy(file);
      process.stdout.write(`${file}: ok\n`);
    });
}
