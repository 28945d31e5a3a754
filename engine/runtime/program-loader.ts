/**
 * Turns a job submission into a JobProgram, in the JobManager (for the graph) and in every
 * TaskManager (for the operators). A job module that exports `createJobProgram(submission)`
 * builds its program directly against the contract (used by runtime tests); any other module
 * goes through the dataflow layer's `buildJobProgram` (engine/program/build.ts). Whatever the
 * module throws comes back as FP_JOB_BUILD with the module's own message.
 */
import { pathToFileURL } from 'node:url';
import type { JobSubmission } from '../contracts/job-graph.ts';
import type { BuildJobProgram, JobProgram } from '../contracts/task.ts';
import { FlowpilotError, errorMessage } from '../../common/errors.ts';

export type ProgramLoader = (submission: JobSubmission) => Promise<JobProgram>;

const BUILD_MODULE = new URL('../program/build.ts', import.meta.url).href;

export const loadJobProgram: ProgramLoader = async (submission) => {
  let mod: { createJobProgram?: (s: JobSubmission) => JobProgram | Promise<JobProgram> };
  try {
    mod = (await import(pathToFileURL(submission.modulePath).href)) as typeof mod;
  } catch (err) {
    throw new FlowpilotError('FP_JOB_BUILD', `job module ${submission.modulePath} failed to load: ${errorMessage(err)}`, { cause: err });
  }
  try {
    if (typeof mod.createJobProgram === 'function') return await mod.createJobProgram(submission);
    const build = (await import(BUILD_MODULE)) as { buildJobProgram?: BuildJobProgram };
    if (typeof build.buildJobProgram !== 'function') {
      throw new FlowpilotError('FP_JOB_BUILD', 'engine/program/build.ts does not export buildJobProgram');
    }
    return await build.buildJobProgram(submission);
  } catch (err) {
    if (err instanceof FlowpilotError && err.code === 'FP_JOB_BUILD') throw err;
    throw new FlowpilotError('FP_JOB_BUILD', `job module ${submission.modulePath} failed to build its job: ${errorMessage(err)}`, { cause: err });
  }
};
