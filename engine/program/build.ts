/**
 * The dataflow layer's entry point (BuildJobProgram from the contract): imports a job module,
 * runs its default export against a fresh StreamExecutionEnvironment with the program
 * arguments, and returns the JobGraph plus the factory of subtasks (OperatorChains), the
 * output-edge order and the HASH partitioners the runtime's RecordWriters use.
 */
import { pathToFileURL } from 'node:url';
import { isAbsolute } from 'node:path';
import { FlowpilotError, errorMessage } from '../../common/errors.ts';
import type { JobSubmission } from '../contracts/job-graph.ts';
import type { BuildJobProgram, ChannelSelector, JobProgram, OutputEdge, TaskContext, TaskInvokable } from '../contracts/task.ts';
import { StreamExecutionEnvironment, type JobModule } from '../api/environment.ts';
import { OperatorChain } from '../operators/chain.ts';
import { computeOperatorIndexForKeyGroup, assignToKeyGroup } from '../keygroups/key-groups.ts';
import { buildGraph, type BuiltGraph } from './graph-builder.ts';

export const buildJobProgram: BuildJobProgram = async (submission: JobSubmission): Promise<JobProgram> => {
  if (!isAbsolute(submission.modulePath)) {
    throw new FlowpilotError('FP_JOB_MODULE', `job module path must be absolute, got ${submission.modulePath}`);
  }
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(submission.modulePath).href)) as { default?: unknown };
  } catch (err) {
    throw new FlowpilotError('FP_JOB_BUILD', `cannot import job module ${submission.modulePath}: ${errorMessage(err)}`, { cause: err });
  }
  if (typeof mod.default !== 'function') {
    throw new FlowpilotError('FP_JOB_MODULE', `job module ${submission.modulePath} has no default export function (env, args) => void`);
  }
  return buildFromModule(mod.default as JobModule, submission);
};

/** Builds a program from an already imported job function (tests, embedded use). */
export async function buildFromModule(job: JobModule, submission: JobSubmission): Promise<JobProgram> {
  const env = new StreamExecutionEnvironment();
  try {
    await job(env, submission.programArgs);
  } catch (err) {
    throw new FlowpilotError('FP_JOB_BUILD', `job module ${submission.modulePath} failed while building its graph: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  return programFromGraph(buildGraph(env, submission));
}

export function programFromGraph(built: BuiltGraph): JobProgram {
  const { graph, plans } = built;
  const outputs = new Map<string, OutputEdge[]>();
  for (const v of graph.vertices) outputs.set(v.id, []);
  for (const v of graph.vertices) {
    for (const e of v.inputs) outputs.get(e.sourceVertexId)!.push({ targetVertexId: v.id, inputIndex: e.inputIndex, ship: e.ship });
  }
  const vertexById = new Map(graph.vertices.map((v) => [v.id, v]));
  return {
    graph,
    createTask(vertexId: string, ctx: TaskContext): TaskInvokable {
      const plan = plans.get(vertexId);
      if (plan === undefined) throw new FlowpilotError('FP_JOB_UNKNOWN_VERTEX', `job ${graph.jobName} has no vertex ${vertexId}`);
      return new OperatorChain(plan.chain, ctx);
    },
    outputEdges(vertexId: string): OutputEdge[] {
      return outputs.get(vertexId) ?? [];
    },
    partitionerFor(vertexId: string, outputIndex: number): ChannelSelector | undefined {
      const edge = outputs.get(vertexId)?.[outputIndex];
      if (edge === undefined || edge.ship !== 'HASH') return undefined;
      const target = vertexById.get(edge.targetVertexId)!;
      const targetPlan = plans.get(target.id)!;
      const key = targetPlan.transformations[0]!.key!;
      const defaultMax = target.maxParallelism;
      const wrapped = plans.get(vertexId)!.chain.outputTimestamped;
      if (wrapped) {
        return (record, numChannels, maxParallelism = defaultMax) =>
          computeOperatorIndexForKeyGroup(maxParallelism, numChannels, assignToKeyGroup(key((record as [number, unknown])[1]), maxParallelism));
      }
      return (record, numChannels, maxParallelism = defaultMax) =>
        computeOperatorIndexForKeyGroup(maxParallelism, numChannels, assignToKeyGroup(key(record), maxParallelism));
    },
  };
}
