/**
 * `flowpilot promql ...`: the PromQL engine's command group. `conformance DIR` runs
 * promqltest scripts; `parse EXPR` prints the typed AST or the positioned parse error.
 */
import type { Command } from 'commander';

export function register(program: Command): void {
  const promql = program.command('promql').description('PromQL engine tools');
  promql
    .command('conformance')
    .description('run promqltest scripts (*.test) from DIR; prints per-file and total passed/failed/skipped')
    .argument('<dir>', 'directory of .test files (or one file)')
    .option('--min-pass-ratio <ratio>', 'exit 1 when passed/(passed+failed) is below this', '0.95')
    .option('--verbose', 'print every failed and skipped case with its reason', false)
    .action(async (dir: string, opts: { minPassRatio: string; verbose: boolean }) => {
      const { runConformance } = await import('../../agent/promql/conformance/cli.ts');
      const ratio = Number(opts.minPassRatio);
      if (!(ratio >= 0 && ratio <= 1)) throw new Error(`--min-pass-ratio must be between 0 and 1, got ${opts.minPassRatio}`);
      const summary = runConformance(dir, { minPassRatio: ratio, verbose: opts.verbose });
      process.exitCode = summary.exitCode;
    });
  promql
    .command('parse')
    .description('parse a PromQL expression and print its typed AST as JSON')
    .argument('<expr>', 'the expression')
    .action(async (expr: string) => {
      const { parseExpr } = await import('../../agent/promql/parser.ts');
      const ast = parseExpr(expr);
      process.stdout.write(JSON.stringify(ast, (k, v: unknown) => (k === 'matches' ? undefined : v), 2) + '\n');
    });
}
