/**
 * `flowpilot promql conformance DIR`: runs every *.test promqltest script in DIR (read
 * in place, never copied), prints passed/failed/skipped per file and one total line
 * `N passed, N failed, N skipped`, and returns exit code 1 when the pass ratio of the
 * non-skipped cases is below minPassRatio.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FlowpilotError, errorMessage } from '../../../common/errors.ts';
import { type CaseResult, runScript } from './runner.ts';

export interface ConformanceOptions {
  minPassRatio: number;
  verbose: boolean;
  out?: (line: string) => void;
}

export interface ConformanceSummary {
  files: { file: string; passed: number; failed: number; skipped: number; cases: CaseResult[] }[];
  passed: number;
  failed: number;
  skipped: number;
  exitCode: number;
}

export function runConformance(dir: string, opts: ConformanceOptions): ConformanceSummary {
  const out = opts.out ?? ((l: string) => process.stdout.write(l + '\n'));
  let files: string[];
  try {
    files = statSync(dir).isDirectory() ? readdirSync(dir).filter((f) => f.endsWith('.test')).sort().map((f) => join(dir, f)) : [dir];
  } catch (err) {
    throw new FlowpilotError('FP_PROMQL_CONFORMANCE', `cannot read ${dir}: ${errorMessage(err)}`);
  }
  const summary: ConformanceSummary = { files: [], passed: 0, failed: 0, skipped: 0, exitCode: 0 };
  for (const file of files) {
    let cases: CaseResult[];
    try {
      cases = runScript(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new FlowpilotError('FP_PROMQL_CONFORMANCE', `${file}: ${errorMessage(err)}`);
    }
    const count = (s: CaseResult['status']) => cases.filter((c) => c.status === s).length;
    const f = { file, passed: count('passed'), failed: count('failed'), skipped: count('skipped'), cases };
    summary.files.push(f);
    summary.passed += f.passed;
    summary.failed += f.failed;
    summary.skipped += f.skipped;
    out(`${file}: ${f.passed} passed, ${f.failed} failed, ${f.skipped} skipped`);
    if (opts.verbose) {
      for (const c of cases) if (c.status !== 'passed') out(`  ${c.status.toUpperCase()} ${file}:${c.line} ${c.query}\n    ${c.reason}`);
    }
  }
  const ran = summary.passed + summary.failed;
  const ratio = ran === 0 ? 1 : summary.passed / ran;
  summary.exitCode = ratio < opts.minPassRatio ? 1 : 0;
  out(`${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped`);
  return summary;
}
