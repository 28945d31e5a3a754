/**
 * Resource requirements (Flink's JobResourceRequirements): per-vertex parallelism bounds, as
 * `PUT /jobs/:id/resource-requirements` sets them, Flink's validation of a request against a
 * job's vertices, and the outcome the scheduler reports back. As in Flink's adaptive scheduler,
 * a job runs at what the slots allow, up to the upper bound: a bound above the cluster's slots is
 * accepted and the job runs at the slots it can get.
 */
import { FlowpilotError } from '../../common/errors.ts';

/** Parallelism bounds per vertex id. In a request, -1 means "1" (lower) or "the vertex's max parallelism" (upper). */
export type ResourceRequirements = Record<string, { lowerBound: number; upperBound: number }>;

/** What the scheduler made of accepted requirements. */
export interface ResourceRequirementsOutcome {
  /** The bounds now in force (no -1 left), by vertex id. */
  requirements: ResourceRequirements;
  /** The parallelism each vertex runs at from now on: min(upper bound, slots the job can get), at least 1. */
  parallelism: Record<string, number>;
  /** Slots the job can get (free slots plus the ones it holds; all slots in reactive mode). */
  availableSlots: number;
  /** True when the job restarts at a new parallelism; false when it already runs at the target. */
  rescaling: boolean;
  /** Vertices whose lower bound exceeds the slots the job can get (they run at what the slots allow). */
  lowerBoundUnmet: string[];
}

/**
 * Flink's JobResourceRequirements.validate: every vertex of the job and no other, bounds of 1 or
 * more (-1: 1 for the lower, the vertex's max parallelism for the upper), lower ≤ upper ≤ max
 * parallelism. Vertex ids compare case-insensitively. Throws FP_REST_BAD_REQUEST (HTTP 400)
 * listing every problem.
 */
export function validateResourceRequirements(
  vertices: ReadonlyArray<{ id: string; maxParallelism: number }>,
  requested: ResourceRequirements,
): ResourceRequirements {
  const problems: string[] = [];
  const out: ResourceRequirements = {};
  const known = new Set(vertices.map((v) => v.id.toLowerCase()));
  const byId = new Map<string, { lowerBound: number; upperBound: number }>();
  for (const [id, bounds] of Object.entries(requested)) {
    if (!known.has(id.toLowerCase())) problems.push(`Job vertex [${id}] was not found in the job.`);
    else byId.set(id.toLowerCase(), bounds);
  }
  for (const v of vertices) {
    const entry = byId.get(v.id.toLowerCase());
    if (!entry) {
      problems.push(`The request is incomplete, missing job vertex [${v.id}] resource requirements.`);
      continue;
    }
    const lower = entry.lowerBound === -1 ? 1 : entry.lowerBound;
    const upper = entry.upperBound === -1 ? v.maxParallelism : entry.upperBound;
    if (!Number.isSafeInteger(lower) || lower < 1) problems.push(`The lower bound of job vertex [${v.id}] must be positive (got ${lower}).`);
    if (!Number.isSafeInteger(upper) || upper < 1) problems.push(`The upper bound of job vertex [${v.id}] must be positive (got ${upper}).`);
    if (lower > upper) problems.push(`The lower bound (${lower}) of job vertex [${v.id}] must not exceed its upper bound (${upper}).`);
    if (upper > v.maxParallelism) {
      problems.push(`The upper bound (${upper}) of job vertex [${v.id}] exceeds its max parallelism (${v.maxParallelism}).`);
    }
    out[v.id] = { lowerBound: lower, upperBound: upper };
  }
  if (problems.length > 0) throw new FlowpilotError('FP_REST_BAD_REQUEST', problems.join('\n'));
  return out;
}

/** The parallelism each vertex runs at with `slots` slots: min(upper bound, slots), at least 1 (Flink's adaptive scheduler). */
export function parallelismWithin(requirements: ResourceRequirements, slots: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [id, b] of Object.entries(requirements)) out[id] = Math.max(1, Math.min(b.upperBound, slots));
  return out;
}
