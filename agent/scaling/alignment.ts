/**
 * Alignment of a computed parallelism to key groups (vertices with a keyed input) or source
 * partitions, in the spirit of Flink's key-group alignment: prefer a parallelism that divides
 * the units evenly, searching upward from the computed value within a bounded overshoot so a
 * divisor never costs more than `maxOvershoot` extra subtasks. Sources never get more
 * subtasks than partitions (extra readers would idle). Never inverts the scaling direction.
 */
export interface AlignmentResult {
  parallelism: number;
  note?: string;
}

export function alignParallelism(
  computed: number,
  current: number,
  units: number | undefined,
  opts: { maxOvershoot: number; upper: number; isSource: boolean; capAtPartitions: boolean },
): AlignmentResult {
  if (!units) return { parallelism: computed };
  let upper = opts.upper;
  if (opts.isSource && opts.capAtPartitions) upper = Math.min(upper, units);
  if (computed >= units && upper >= units) return { parallelism: opts.isSource && opts.capAtPartitions ? units : computed };
  const limit = Math.min(upper, Math.floor(computed * (1 + opts.maxOvershoot)));
  for (let q = computed; q <= limit; q++) {
    if (units % q === 0) {
      if (computed < current && q >= current) break; // would undo the scale-down
      return q === computed ? { parallelism: q } : { parallelism: q, note: `aligned ${computed} -> ${q} (divides ${units})` };
    }
  }
  // No divisor near: keep the smallest parallelism with the same per-subtask share ceil(units/q).
  const share = Math.ceil(units / computed);
  let q = computed;
  while (q > 1 && Math.ceil(units / (q - 1)) === share) q--;
  if (computed > current && q <= current) q = computed;
  const capped = Math.min(q, upper);
  return capped === computed ? { parallelism: capped } : { parallelism: capped, note: `aligned ${computed} -> ${capped} (same ${share} units per subtask)` };
}
