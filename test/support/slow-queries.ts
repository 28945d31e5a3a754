/**
 * A PromQL query that is slow by its work, whatever the data and the machine: `depth`
 * quantile_over_time subqueries of [10000s:1s] nested around vector(1). A subquery's inner
 * expression is evaluated once over all its outer windows (as Prometheus does), so level k sorts
 * 10,000-point windows at (k - 1) × 10,000 steps: 10,000 · depth(depth - 1)/2 sorts in all.
 * On this project's 2-core machine, idle, one query took 1.5 s at depth 2, 4.2 s at 3, 8.4 s
 * at 4 and 22 s at 5; tests pick depths whose run time is many times their timeout.
 */
export function nestedQuantiles(depth: number): string {
  let q = 'vector(1)';
  for (let i = 0; i < depth; i++) q = `quantile_over_time(0.5, ${q}[10000s:1s])`;
  return q;
}
