/**
 * Each job's part of GET /api/v1/scaling/jobs as JSON, kept while what it is built from stays
 * the same: the manager gives, per job, the values and objects its status shows (compared by
 * identity: a decision, an action result, a policy are replaced, not changed, when they move)
 * and a builder. Every replica lists every job of the fleet, so serializing every job on every
 * request was most of that route's CPU (BENCHMARKS.md, "Fleet"). Bounded by the jobs known.
 */
export class StatusParts {
  private readonly parts = new Map<string, { inputs: readonly unknown[]; json: string }>();

  /** The job's JSON: the kept one when every input is identical (===) to the last call's, else `build()` serialized. */
  json(uid: string, inputs: readonly unknown[], build: () => unknown): string {
    const kept = this.parts.get(uid);
    if (kept !== undefined && kept.inputs.length === inputs.length && kept.inputs.every((v, i) => v === inputs[i])) return kept.json;
    const json = JSON.stringify(build());
    this.parts.set(uid, { inputs, json });
    return json;
  }

  /** Drops the parts of jobs no longer known. */
  keepOnly(known: ReadonlyMap<string, unknown>): void {
    if (this.parts.size <= known.size) return;
    for (const uid of this.parts.keys()) if (!known.has(uid)) this.parts.delete(uid);
  }

  get size(): number {
    return this.parts.size;
  }
}
