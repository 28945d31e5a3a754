/**
 * `flowpilot rules check FILE...` (like `promtool check rules`: every problem with
 * file:line:col, exit 1 on any) and `flowpilot rules test FILE...` (promtool's rule
 * unit-test format and exit codes). Implementations load lazily.
 */
import type { Command } from 'commander';

export function register(program: Command): void {
  const rules = program.command('rules').description('Check and unit-test Prometheus rule files');

  rules
    .command('check')
    .description('Validate rule files like `promtool check rules`; exit 1 with file:line:col on any error')
    .argument('<files...>', 'rule files')
    .action(async (files: string[]) => {
      const { loadRuleFiles, formatProblem } = await import('../../agent/rules/rulefile.ts');
      let failed = false;
      for (const file of files) {
        process.stdout.write(`Checking ${file}\n`);
        const { files: parsed, problems } = await loadRuleFiles([file]);
        if (problems.length > 0) {
          failed = true;
          process.stderr.write(`  FAILED:\n${problems.map((p) => `${formatProblem(p)} [${p.code}]`).join('\n')}\n`);
          process.stdout.write('\n');
          continue;
        }
        const all = parsed.flatMap((f) => f.groups.flatMap((g) => g.rules));
        const seen = new Map<string, number>();
        for (const r of all) {
          const key = `${r.kind}:${r.name}:${JSON.stringify(Object.entries(r.labels).sort())}`;
          seen.set(key, (seen.get(key) ?? 0) + 1);
        }
        const dups = [...seen.entries()].filter(([, n]) => n > 1);
        if (dups.length > 0) {
          process.stdout.write(`${dups.length} duplicate rule(s) found.\n`);
          for (const [k] of dups) process.stdout.write(`Metric: ${k.split(':').slice(1, -1).join(':')}\n`);
          process.stdout.write('Might cause inconsistency while recording expressions.\n');
        }
        process.stdout.write(`  SUCCESS: ${all.length} rules found\n\n`);
      }
      process.exitCode = failed ? 1 : 0;
    });

  rules
    .command('test')
    .description("Run rule unit tests in promtool's format (input_series, alert_rule_test, promql_expr_test)")
    .argument('<files...>', 'test files')
    .action(async (files: string[]) => {
      const { runUnitTests } = await import('../../agent/rules/unittest/runner.ts');
      const code = await runUnitTests(files, (s) => process.stdout.write(s), (s) => process.stderr.write(s));
      process.exitCode = code;
    });
}
