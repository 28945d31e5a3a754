/**
 * `flowpilot scale set`: a manual rescale through the SAME realizers the agent uses
 * (agent/actuate), so a user can try a rescale before letting the agent act, and so the
 * realizers can be checked by hand.
 * - `--flinkdeployment NS/NAME` / `--flinksessionjob NS/NAME`: the operator realizer (NATIVE:
 *   the overrides key only; STANDALONE: the replicas only), then it watches the operator.
 * - `--deployment NS/NAME`: the TaskManager Deployment's scale subresource (reactive mode).
 * - `--flink-url URL --job ID`: in place, PUT /jobs/:id/resource-requirements.
 * With `--dry-run` nothing changes: with `--from-file FILE` it reads the FlinkDeployment or
 * FlinkSessionJob from a YAML file and talks to no API server; it prints the exact request body
 * it would send (the merge patch, the scale patch, or the resource-requirements body) as JSON
 * on stdout, and what it expects the operator to do on stderr.
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { FlowpilotError } from '../../common/errors.ts';

export interface ScaleSetOptions {
  flinkdeployment?: string;
  flinksessionjob?: string;
  deployment?: string;
  statefulset?: string;
  flinkUrl?: string;
  job?: string;
  vertex: string[];
  taskmanagers?: number;
  slots?: number;
  fromFile?: string;
  clusterFile?: string;
  dryRun?: boolean;
  kubeconfig?: string;
  journalDir: string;
  timeout: number;
}

export interface ScaleSetIo {
  out: (s: string) => void;
  err: (s: string) => void;
}

/** `--vertex ID=P` (repeatable) → {ID: P}. */
export function parseVertices(specs: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of specs) {
    const m = /^([^=\s]+)=(\d+)$/.exec(s.trim());
    if (!m || Number(m[2]) < 1) throw new FlowpilotError('FP_CLI_USAGE', `--vertex "${s}": expected VERTEX_ID=PARALLELISM with an integer parallelism ≥ 1`);
    out[m[1]!] = Number(m[2]);
  }
  return out;
}

function nsName(s: string, flag: string): { namespace?: string; name: string } {
  const parts = s.split('/');
  if (parts.length > 2 || parts.some((p) => p === '')) throw new FlowpilotError('FP_CLI_USAGE', `${flag} "${s}": expected NAMESPACE/NAME or NAME`);
  return parts.length === 2 ? { namespace: parts[0]!, name: parts[1]! } : { name: parts[0]! };
}

function readYamlObject(file: string): Record<string, unknown> & { kind?: string } {
  const docs = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as unknown).filter((d) => d !== null && typeof d === 'object');
  const flink = docs.filter((d) => ['FlinkDeployment', 'FlinkSessionJob'].includes(String((d as { kind?: string }).kind)));
  if (flink.length !== 1) throw new FlowpilotError('FP_CLI_USAGE', `${file}: expected exactly one FlinkDeployment or FlinkSessionJob, found ${flink.length}`);
  return flink[0] as Record<string, unknown> & { kind?: string };
}

interface FlinkTarget { kind: 'FlinkDeployment' | 'FlinkSessionJob'; namespace?: string; name: string }
interface WorkloadTarget { kind: 'Deployment' | 'StatefulSet'; namespace?: string; name: string }
interface RestTarget { kind: 'flink-rest'; url: string; job: string }
type Target = FlinkTarget | WorkloadTarget | RestTarget;

function isFlinkTarget(t: Target): t is FlinkTarget {
  return t.kind === 'FlinkDeployment' || t.kind === 'FlinkSessionJob';
}

function isWorkloadTarget(t: Target): t is WorkloadTarget {
  return t.kind === 'Deployment' || t.kind === 'StatefulSet';
}

function targetOf(o: ScaleSetOptions): Target {
  const given: Target[] = [];
  if (o.flinkdeployment) given.push({ kind: 'FlinkDeployment', ...nsName(o.flinkdeployment, '--flinkdeployment') });
  if (o.flinksessionjob) given.push({ kind: 'FlinkSessionJob', ...nsName(o.flinksessionjob, '--flinksessionjob') });
  if (o.deployment) given.push({ kind: 'Deployment', ...nsName(o.deployment, '--deployment') });
  if (o.statefulset) given.push({ kind: 'StatefulSet', ...nsName(o.statefulset, '--statefulset') });
  if (o.flinkUrl && given.length === 0 && !o.fromFile) {
    if (!o.job) throw new FlowpilotError('FP_CLI_USAGE', '--flink-url needs --job JOB_ID (the job to rescale in place)');
    given.push({ kind: 'flink-rest', url: o.flinkUrl, job: o.job });
  }
  if (o.fromFile && given.length === 0) {
    const obj = readYamlObject(o.fromFile);
    const md = (obj.metadata ?? {}) as { name?: string; namespace?: string };
    given.push({ kind: obj.kind as 'FlinkDeployment' | 'FlinkSessionJob', name: md.name ?? '?', ...(md.namespace ? { namespace: md.namespace } : {}) });
  }
  if (given.length !== 1) {
    throw new FlowpilotError('FP_CLI_USAGE', 'name exactly one target: --flinkdeployment, --flinksessionjob, --deployment, --statefulset, --flink-url (with --job), or --from-file with --dry-run');
  }
  return given[0]!;
}

/** Runs `scale set`; returns the process exit code. */
export async function scaleSet(o: ScaleSetOptions, io: ScaleSetIo): Promise<number> {
  const target = parseVertices(o.vertex);
  if (Object.keys(target).length === 0 && o.taskmanagers === undefined) {
    throw new FlowpilotError('FP_CLI_USAGE', 'give at least one --vertex ID=P (or --taskmanagers N for a Deployment)');
  }
  const t = targetOf(o);
  if (o.fromFile && !o.dryRun) throw new FlowpilotError('FP_CLI_USAGE', '--from-file only goes with --dry-run (the live path reads the resource from the API server)');
  if (o.dryRun) return dryRun(o, t, target, io);
  return live(o, t, target, io);
}

async function dryRun(o: ScaleSetOptions, t: Target, target: Record<string, number>, io: ScaleSetIo): Promise<number> {
  if (isFlinkTarget(t)) {
    const { planFor } = await import('../../agent/actuate/flink-resource-realizer.ts');
    let res: Record<string, unknown>;
    let cluster: Record<string, unknown> | undefined;
    if (o.fromFile) {
      res = readYamlObject(o.fromFile);
      if (o.clusterFile) cluster = readYamlObject(o.clusterFile);
    } else {
      ({ res, cluster } = await readLive(o, t));
    }
    if (res.kind === 'FlinkSessionJob' && !cluster) {
      io.err('note: no --cluster-file for the session cluster; assuming a NATIVE session cluster with jobmanager.scheduler: adaptive\n');
      cluster = { kind: 'FlinkDeployment', spec: { flinkVersion: 'v1_18', flinkConfiguration: { 'jobmanager.scheduler': 'adaptive' } } };
    }
    const plan = planFor(res, { target, ...(o.taskmanagers !== undefined ? { taskManagers: o.taskmanagers } : {}) }, cluster);
    io.out(`${JSON.stringify(plan.patch, null, 2)}\n`);
    io.err(`${plan.kind} ${plan.mode.toUpperCase()} mode: ${plan.patch ? `the patch changes ${plan.changes.join(', ')}` : 'already at this state, nothing to patch'}; `
      + `the operator is expected to rescale ${plan.expected === 'in-place' ? 'IN PLACE' : `with an UPGRADE (the job restarts): ${plan.blockers.join('; ')}`}\n`);
    return 0;
  }
  if (isWorkloadTarget(t)) {
    const { replicasFor } = await import('../../agent/actuate/kubernetes.ts');
    const replicas = replicasFor({ jobId: '-', current: {}, target, reasons: [], mode: 'kubernetes-deployment', ...(o.taskmanagers !== undefined ? { taskManagers: o.taskmanagers } : {}) }, o.slots);
    io.out(`${JSON.stringify({ spec: { replicas } }, null, 2)}\n`);
    io.err(`merge patch for the scale subresource of ${t.kind} ${t.namespace ? `${t.namespace}/` : ''}${t.name}\n`);
    return 0;
  }
  const { FlinkRestClient } = await import('../../agent/flink/rest-client.ts');
  const { newRequirements } = await import('../../agent/actuate/in-place.ts');
  const flink = new FlinkRestClient({ baseUrl: t.url, timeoutMs: o.timeout * 1000 });
  let body;
  try {
    body = newRequirements(await flink.resourceRequirements(t.job), target);
  } finally {
    await flink.close();
  }
  io.out(`${JSON.stringify(body, null, 2)}\n`);
  io.err(`PUT ${t.url}/jobs/${t.job}/resource-requirements (read-only so far: the current requirements were read, nothing was sent)\n`);
  return 0;
}

async function kubeClients(o: ScaleSetOptions, namespace: string | undefined) {
  const { createKubeClients } = await import('../../agent/kube/client.ts');
  return createKubeClients(o.kubeconfig ? { kind: 'file', path: o.kubeconfig } : { kind: 'default' }, {
    ...(namespace ? { namespace } : {}), timeoutMs: o.timeout * 1000,
  });
}

async function readLive(o: ScaleSetOptions, t: FlinkTarget): Promise<{ res: Record<string, unknown>; cluster?: Record<string, unknown> }> {
  const { kubeCall } = await import('../../agent/kube/client.ts');
  const kube = await kubeClients(o, t.namespace);
  const ns = t.namespace ?? kube.namespace;
  const get = (plural: string, name: string) => kubeCall(kube, `read ${plural} ${ns}/${name}`,
    () => kube.custom.getNamespacedCustomObject({ group: 'flink.apache.org', version: 'v1beta1', namespace: ns, plural, name })) as Promise<Record<string, unknown>>;
  const res: Record<string, unknown> = { kind: t.kind, ...(await get(t.kind === 'FlinkSessionJob' ? 'flinksessionjobs' : 'flinkdeployments', t.name)) };
  if (t.kind !== 'FlinkSessionJob') return { res };
  const clusterName = String(((res.spec ?? {}) as { deploymentName?: string }).deploymentName ?? '');
  return { res, cluster: await get('flinkdeployments', clusterName) };
}

async function live(o: ScaleSetOptions, t: Target, target: Record<string, number>, io: ScaleSetIo): Promise<number> {
  const { Actuator } = await import('../../agent/actuate/actuator.ts');
  const { DEFAULT_TIMING, defaultSleep } = await import('../../agent/actuate/context.ts');
  const { IntentJournal } = await import('../../agent/actuate/journal/intent.ts');
  const { FileJournalStore } = await import('../../agent/actuate/journal/file-store.ts');
  const { FlinkRestClient } = await import('../../agent/flink/rest-client.ts');
  const { createLogger } = await import('../../common/log.ts');
  const log = createLogger({ name: 'scale-set' });
  const journal = new IntentJournal(new FileJournalStore(o.journalDir));
  const timing = { ...DEFAULT_TIMING, verifyTimeoutMs: o.timeout * 1000 };
  const base = { journal, timing, clock: Date.now, sleep: defaultSleep, log };
  let actuator: InstanceType<typeof Actuator>;
  let mode: 'in-place' | 'kubernetes-deployment' | 'flink-deployment';
  let jobId: string;
  let jobName: string;
  let flink: InstanceType<typeof FlinkRestClient> | undefined;
  if (t.kind === 'flink-rest') {
    flink = new FlinkRestClient({ baseUrl: t.url, timeoutMs: o.timeout * 1000 });
    actuator = new Actuator({ context: { ...base, flink } });
    mode = 'in-place';
    jobId = t.job;
    jobName = t.job;
  } else {
    const kube = await kubeClients(o, t.namespace);
    const ft = t;
    flink = o.flinkUrl ? new FlinkRestClient({ baseUrl: o.flinkUrl, timeoutMs: o.timeout * 1000 }) : undefined;
    if (isWorkloadTarget(t)) {
      actuator = new Actuator({ context: { ...base, kube, workload: () => ({ kind: t.kind, name: t.name, ...(t.namespace ? { namespace: t.namespace } : {}), ...(o.slots ? { slotsPerTaskManager: o.slots } : {}) }) } });
      mode = 'kubernetes-deployment';
    } else {
      actuator = new Actuator({ context: { ...base, kube, ...(flink ? { flink } : {}), flinkDeployment: () => (isFlinkTarget(ft) ? { kind: ft.kind, name: ft.name, ...(ft.namespace ? { namespace: ft.namespace } : {}) } : undefined) } });
      mode = 'flink-deployment';
    }
    jobId = o.job ?? t.name;
    jobName = t.name;
  }
  let r;
  try {
    r = await actuator.execute({
      jobId, jobName, current: {}, target, reasons: ['manual: flowpilot scale set'], mode,
      ...(o.taskmanagers !== undefined ? { taskManagers: o.taskmanagers } : {}),
    });
  } finally {
    await flink?.close();
  }
  io.out(`${JSON.stringify(r, null, 2)}\n`);
  return r.outcome === 'succeeded' ? 0 : 1;
}
