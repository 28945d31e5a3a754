/**
 * Turns the environment's transformations into a JobGraph and per-vertex ChainPlans. Chaining
 * follows Flink: an operator joins its input's chain when the edge is FORWARD, parallelism
 * matches, the input has no other consumer, and neither side opts out. A FORWARD edge between
 * vertices of different parallelism becomes REBALANCE. Operator ids are md5(uid), vertex ids
 * md5 of the chain's operator ids, so both are stable across submissions and parallelisms.
 */
import { createHash } from 'node:crypto';
import { FlowpilotError } from '../../common/errors.ts';
import type { JobEdgeSpec, JobGraph, JobSubmission, JobVertexSpec, OperatorSpec, ShipStrategy } from '../contracts/job-graph.ts';
import type { StreamExecutionEnvironment } from '../api/environment.ts';
import type { Transformation } from '../api/transformation.ts';
import type { ChainPlan } from '../operators/chain.ts';
import { computeDefaultMaxParallelism, UPPER_BOUND_MAX_PARALLELISM } from '../keygroups/key-groups.ts';

export interface VertexPlan {
  vertex: JobVertexSpec;
  chain: ChainPlan;
  /** The transformations of the chain, head first. */
  transformations: Transformation[];
}

export interface BuiltGraph {
  graph: JobGraph;
  plans: Map<string, VertexPlan>;
}

function inputsOf(t: Transformation): Transformation[] {
  return t.input === undefined ? [] : [t.input, ...(t.unionInputs ?? [])];
}

export function md5Hex(text: string): string {
  return createHash('md5').update(text).digest('hex');
}

function checkParallelism(what: string, p: number): void {
  if (!Number.isInteger(p) || p < 1 || p > UPPER_BOUND_MAX_PARALLELISM) {
    throw new FlowpilotError('FP_JOB_PARALLELISM', `${what}: parallelism must be an integer in [1, ${UPPER_BOUND_MAX_PARALLELISM}], got ${p}`);
  }
}

export function buildGraph(env: StreamExecutionEnvironment, submission: JobSubmission): BuiltGraph {
  const ts = env.transformations;
  if (!ts.some((t) => t.kind === 'source')) {
    throw new FlowpilotError('FP_JOB_EMPTY', `job module ${submission.modulePath} declared no source; call env.fromSource(...)`);
  }
  const defaultP = env.parallelism ?? submission.parallelism ?? 1;
  checkParallelism('default parallelism', defaultP);
  if (env.maxParallelism !== undefined) checkParallelism('env max parallelism', env.maxParallelism);

  const uids = new Map<string, Transformation>();
  const consumers = new Map<Transformation, number>();
  for (const t of ts) {
    const uid = t.uid ?? `${t.kind}-${t.index}`;
    if (uids.has(uid)) throw new FlowpilotError('FP_JOB_DUPLICATE_UID', `uid "${uid}" is used by two operators ("${uids.get(uid)!.name}" and "${t.name}"); uids must be unique`);
    uids.set(uid, t);
    if (t.parallelism !== undefined) checkParallelism(`operator "${t.name}"`, t.parallelism);
    for (const u of inputsOf(t)) consumers.set(u, (consumers.get(u) ?? 0) + 1);
  }
  const pOf = (t: Transformation): number => t.parallelism ?? defaultP;
  const uidOf = (t: Transformation): string => t.uid ?? `${t.kind}-${t.index}`;

  // Chaining.
  const chainOf = new Map<Transformation, Transformation[]>();
  const chains: Transformation[][] = [];
  for (const t of ts) {
    const u = t.input;
    const canChain =
      env.chainingEnabled &&
      u !== undefined &&
      (t.unionInputs?.length ?? 0) === 0 &&
      t.ship === 'FORWARD' &&
      pOf(t) === pOf(u) &&
      consumers.get(u) === 1 &&
      t.chaining === 'always' &&
      u.chaining !== 'never';
    if (canChain) {
      const chain = chainOf.get(u)!;
      chain.push(t);
      chainOf.set(t, chain);
    } else {
      const chain = [t];
      chains.push(chain);
      chainOf.set(t, chain);
    }
  }

  const plans = new Map<string, VertexPlan>();
  const vertexOfChain = new Map<Transformation[], JobVertexSpec>();
  const vertices: JobVertexSpec[] = [];
  for (const chain of chains) {
    const operators: OperatorSpec[] = chain.map((t) => ({ id: md5Hex(uidOf(t)), uid: uidOf(t), name: t.name, kind: t.kind }));
    const id = md5Hex(operators.map((o) => o.id).join(','));
    const head = chain[0]!;
    const override = submission.parallelismOverrides?.[id];
    const parallelism = override ?? pOf(head);
    checkParallelism(`vertex "${operators.map((o) => o.name).join(' -> ')}"`, parallelism);
    const opMax = chain.find((t) => t.maxParallelism !== undefined)?.maxParallelism;
    const configuredMax = opMax ?? env.maxParallelism;
    if (configuredMax !== undefined) checkParallelism('max parallelism', configuredMax);
    const maxParallelism = configuredMax ?? computeDefaultMaxParallelism(parallelism);
    if (parallelism > maxParallelism) {
      throw new FlowpilotError(
        'FP_JOB_PARALLELISM',
        `vertex "${operators.map((o) => o.name).join(' -> ')}": parallelism ${parallelism} exceeds its max parallelism ${maxParallelism}; raise setMaxParallelism or lower the parallelism`,
      );
    }
    const vertex: JobVertexSpec = {
      id,
      name: operators.map((o) => o.name).join(' -> '),
      parallelism,
      maxParallelism,
      maxParallelismConfigured: configuredMax !== undefined,
      operators,
      inputs: [],
      isSource: head.kind === 'source',
      isSink: chain[chain.length - 1]!.kind === 'sink',
    };
    vertexOfChain.set(chain, vertex);
    vertices.push(vertex);
    plans.set(id, {
      vertex,
      transformations: chain,
      chain: {
        operators: chain.map((t, i) => ({ spec: operators[i]!, create: () => t.create() })),
        inputTimestamped: [],
        inputChannels: [],
        outputTimestamped: chain[chain.length - 1]!.timestamped,
      },
    });
  }

  // Edges (after overrides, so FORWARD between different parallelisms becomes REBALANCE).
  for (const chain of chains) {
    const head = chain[0]!;
    const vertex = vertexOfChain.get(chain)!;
    const plan = plans.get(vertex.id)!;
    for (const input of inputsOf(head)) {
      const upstream = vertexOfChain.get(chainOf.get(input)!)!;
      let ship: ShipStrategy = head.ship;
      if (ship === 'FORWARD' && upstream.parallelism !== vertex.parallelism) ship = 'REBALANCE';
      const edge: JobEdgeSpec = { sourceVertexId: upstream.id, ship, inputIndex: vertex.inputs.length };
      vertex.inputs.push(edge);
      plan.chain.inputTimestamped.push(input.timestamped);
      plan.chain.inputChannels.push(ship === 'FORWARD' ? 1 : upstream.parallelism);
    }
  }

  const overrides = submission.parallelismOverrides ?? {};
  for (const vid of Object.keys(overrides)) {
    if (!plans.has(vid)) {
      throw new FlowpilotError('FP_JOB_UNKNOWN_VERTEX', `parallelism override names vertex ${vid}, which this job does not have`, {
        details: { vertices: vertices.map((v) => ({ id: v.id, name: v.name })) },
      });
    }
  }

  return { graph: { jobName: env.jobName, vertices, config: env.getConfig() }, plans };
}
