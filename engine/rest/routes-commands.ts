/**
 * The command routes: cancel (PATCH /jobs/:jobid), job-module upload/list/run/delete under
 * /jars, savepoint trigger and status, stop-with-savepoint, and PUT resource-requirements.
 * Bodies are validated with zod (unknown fields ignored, as Flink ≥ 1.20); body values win over
 * query parameters, as in Flink's JarHandlerUtils. Backend errors become Flink status codes in
 * server.ts (toRestError).
 */
import { z } from 'zod';
import type { ResourceRequirements, SubmitJobRequest } from './backend.ts';
import { parseJsonBody, parseMultipart } from './body.ts';
import {
  accepted, hexParam, ok, queryBool, queryInt, requireJob,
  type Handler, type RequestContext,
} from './context.ts';
import { NOT_FOUND_EXCEPTION, badParameter, handlerError } from './errors.ts';
import type { Router } from './router.ts';
import { unsupportedScheduler } from './routes-read.ts';

const hex32 = z.string().regex(/^[0-9a-fA-F]{32}$/, 'expected a 32-character hexadecimal string');
const claimMode = z.enum(['CLAIM', 'NO_CLAIM', 'LEGACY']);
const formatType = z.enum(['CANONICAL', 'NATIVE']);

const JarRunRequestBody = z.looseObject({
  entryClass: z.string().nullish(),
  programArgs: z.string().nullish(),
  programArgsList: z.array(z.string()).nullish(),
  parallelism: z.number().int().max(32768).refine((p) => p === -1 || p >= 1, 'parallelism must be positive (or -1 for the default)').nullish(),
  jobId: hex32.nullish(),
  allowNonRestoredState: z.boolean().nullish(),
  savepointPath: z.string().nullish(),
  claimMode: claimMode.nullish(),
  restoreMode: claimMode.nullish(),
  flinkConfiguration: z.record(z.string(), z.string()).nullish(),
});

const SavepointTriggerRequestBody = z.looseObject({
  'target-directory': z.string().nullish(),
  'cancel-job': z.boolean().nullish(),
  formatType: formatType.nullish(),
  triggerId: hex32.nullish(),
});

const StopWithSavepointRequestBody = z.looseObject({
  targetDirectory: z.string().nullish(),
  drain: z.boolean().nullish(),
  formatType: formatType.nullish(),
  triggerId: hex32.nullish(),
});

const JobResourceRequirementsBody = z.record(
  z.string(),
  z.looseObject({ parallelism: z.looseObject({ lowerBound: z.number().int(), upperBound: z.number().int() }) }),
);

/** Splits Flink's deprecated single-string programArgs on whitespace, honouring quotes. */
export function tokenizeArgs(s: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}

async function runJar(ctx: RequestContext) {
  const jar = await ctx.jars.resolve(ctx.params.jarid ?? '');
  const body = parseJsonBody(await ctx.body(), JarRunRequestBody, 'JarRunRequestBody');
  const queryArgs = ctx.query.getAll('programArg').flatMap((v) => v.split(',')).filter((s) => s.length > 0);
  const legacyQueryArgs = ctx.query.get('program-args');
  const programArgs = body.programArgsList ?? (body.programArgs != null ? tokenizeArgs(body.programArgs) : null)
    ?? (queryArgs.length > 0 ? queryArgs : legacyQueryArgs ? tokenizeArgs(legacyQueryArgs) : []);
  const parallelism = body.parallelism ?? queryInt(ctx, 'parallelism');
  if (parallelism !== undefined && parallelism < 1 && parallelism !== -1) {
    throw badParameter('query', 'parallelism', String(parallelism), 'Expected a positive integer.');
  }
  const request: SubmitJobRequest = {
    modulePath: jar.path,
    programArgs,
    allowNonRestoredState: body.allowNonRestoredState ?? queryBool(ctx, 'allowNonRestoredState') ?? false,
    claimMode: body.claimMode ?? body.restoreMode ?? 'NO_CLAIM',
    configuration: body.flinkConfiguration ?? {},
  };
  if (parallelism !== undefined && parallelism > 0) request.parallelism = parallelism;
  const savepointPath = body.savepointPath ?? ctx.query.get('savepointPath');
  if (savepointPath) request.savepointPath = savepointPath;
  if (body.jobId) request.jobId = body.jobId.toLowerCase();
  const { jobId } = await ctx.backend.submitJob(request);
  return ok({ jobid: jobId });
}

async function uploadJar(ctx: RequestContext) {
  const contentType = ctx.req.headers['content-type'] ?? '';
  if (!/^multipart\/form-data/i.test(contentType)) {
    throw handlerError(400, 'Request is not a multipart/form-data request (use field jarfile).');
  }
  const files = parseMultipart(await ctx.body(), contentType);
  if (files.length !== 1) throw handlerError(400, `Exactly 1 file must be sent, received ${files.length}.`);
  const stored = await ctx.jars.save(files[0]!.filename, files[0]!.data);
  // Flink answers the stored file's absolute server path; flowpilot answers its stored name (the
  // jar id), which is what clients take the basename of, so no server path leaves the cluster.
  return ok({ filename: stored.id, status: 'success' });
}

async function cancelJob(ctx: RequestContext) {
  const jobId = hexParam(ctx, 'jobid');
  const mode = (ctx.query.get('mode') ?? 'cancel').toLowerCase();
  if (mode === 'stop') {
    throw handlerError(308, 'The termination mode "stop" has been removed. For an ungraceful shutdown, please use "cancel" instead. For a graceful shutdown, please use "jobs/:jobId/stop" instead.');
  }
  if (mode !== 'cancel') throw badParameter('query', 'mode', ctx.query.get('mode') ?? '', 'Allowed values: cancel, stop.');
  if (!ctx.backend.getJob(jobId)) throw handlerError(404, 'Job could not be found.');
  await ctx.backend.cancelJob(jobId);
  return accepted({});
}

async function triggerSavepoint(ctx: RequestContext) {
  const job = requireJob(ctx);
  const body = parseJsonBody(await ctx.body(), SavepointTriggerRequestBody, 'SavepointTriggerRequestBody');
  if (!ctx.backend.triggerSavepoint) throw handlerError(400, 'Savepoints are not supported by this cluster.');
  const { triggerId } = await ctx.backend.triggerSavepoint(job.jobId, {
    ...(body['target-directory'] ? { targetDirectory: body['target-directory'] } : {}),
    formatType: body.formatType ?? 'CANONICAL',
    cancelJob: body['cancel-job'] ?? false,
    ...(body.triggerId ? { triggerId: body.triggerId.toLowerCase() } : {}),
  });
  return accepted({ 'request-id': triggerId });
}

async function stopWithSavepoint(ctx: RequestContext) {
  const job = requireJob(ctx);
  const body = parseJsonBody(await ctx.body(), StopWithSavepointRequestBody, 'StopWithSavepointRequestBody');
  if (!ctx.backend.stopWithSavepoint) throw handlerError(400, 'Stop-with-savepoint is not supported by this cluster.');
  const { triggerId } = await ctx.backend.stopWithSavepoint(job.jobId, {
    ...(body.targetDirectory ? { targetDirectory: body.targetDirectory } : {}),
    formatType: body.formatType ?? 'CANONICAL',
    drain: body.drain ?? false,
    ...(body.triggerId ? { triggerId: body.triggerId.toLowerCase() } : {}),
  });
  return accepted({ 'request-id': triggerId });
}

function savepointStatus(ctx: RequestContext) {
  const jobId = hexParam(ctx, 'jobid');
  const triggerId = hexParam(ctx, 'triggerid');
  const op = ctx.backend.savepointStatus?.(jobId, triggerId);
  if (!op) {
    throw handlerError(404, `Operation not found under key: AsynchronousJobOperationKey{triggerId=${triggerId}, jobId=${jobId}}`, {
      exceptionClass: NOT_FOUND_EXCEPTION,
    });
  }
  if (op.status === 'IN_PROGRESS') return ok({ status: { id: 'IN_PROGRESS' }, operation: null });
  if ('location' in op) return ok({ status: { id: 'COMPLETED' }, operation: { location: op.location } });
  const f = op.failure;
  return ok({
    status: { id: 'COMPLETED' },
    operation: {
      'failure-cause': {
        class: f.className,
        'stack-trace': ctx.scrub(f.stackTrace),
        'serialized-throwable': Buffer.from(ctx.scrub(`${f.className}: ${f.message}`)).toString('base64'),
      },
    },
  });
}

async function putRequirements(ctx: RequestContext) {
  const job = requireJob(ctx);
  const raw = await ctx.body();
  if (raw.toString('utf8').trim().length === 0) throw handlerError(400, 'The request body must contain the resource requirements of every job vertex.');
  const body = parseJsonBody(raw, JobResourceRequirementsBody, 'JobResourceRequirementsBody');
  if (!ctx.backend.setResourceRequirements) throw unsupportedScheduler();
  const requested: ResourceRequirements = {};
  for (const [id, entry] of Object.entries(body)) requested[id] = { lowerBound: entry.parallelism.lowerBound, upperBound: entry.parallelism.upperBound };
  await ctx.backend.setResourceRequirements(job.jobId, requested);
  return ok({});
}

/**
 * Registers the command routes. A switched-off group is not registered at all, so its requests
 * get the router's 404 "Not found: <uri>", as Flink answers when web submission is off.
 */
export function addCommandRoutes(r: Router<Handler>, access: { submit: boolean; cancel: boolean; rescale: boolean }): void {
  if (access.cancel) r.add('PATCH', '/jobs/:jobid', cancelJob);
  if (access.submit) {
    r.add('POST', '/jars/upload', uploadJar);
    r.add('GET', '/jars', async (ctx) => {
      const files = await ctx.jars.list();
      return ok({
        address: ctx.address,
        files: files.map((f) => ({ id: f.id, name: f.name, uploaded: f.uploaded, entry: [{ name: 'default', description: null }] })),
      });
    });
    r.add('POST', '/jars/:jarid/run', runJar);
    r.add('DELETE', '/jars/:jarid', async (ctx) => {
      await ctx.jars.delete(ctx.params.jarid ?? '');
      return ok({});
    });
  }
  r.add('POST', '/jobs/:jobid/savepoints', triggerSavepoint);
  r.add('GET', '/jobs/:jobid/savepoints/:triggerid', savepointStatus);
  r.add('POST', '/jobs/:jobid/stop', stopWithSavepoint);
  if (access.rescale) r.add('PUT', '/jobs/:jobid/resource-requirements', putRequirements);
  r.add('PATCH', '/jobs/:jobid/rescaling', () => {
    throw handlerError(503, 'Rescaling is temporarily disabled. See FLINK-12312.');
  });
}
