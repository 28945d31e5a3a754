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
        // promtool's default lint (duplicate-rules): reported as FAILED, but not fatal.
        const seen = new Map<string, { name: string; labels: Array<[string, string]>; n: number }>();
        for (const r of all) {
          const labels = Object.entries(r.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
          const key = JSON.stringify([r.name, labels]);
          const e = seen.get(key) ?? { name: r.name, labels, n: 0 };
          e.n++;
          seen.set(key, e);
        }
        const dups = [...seen.values()].filter((e) => e.n > 1).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        if (dups.length > 0) {
          let msg = `lint error ${dups.length} duplicate rule(s) found.\n`;
          for (const d of dups) msg += `Metric: ${d.name}\nLabel(s):\n${d.labels.map(([k, v]) => `\t${k}: ${v}\n`).join('')}`;
          process.stderr.write(`  FAILED:\n${msg}Might cause inconsistency while recording expressions\n`);
          process.stdout.write('\n');
          continue;
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
