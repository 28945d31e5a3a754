/**
 * Copies the default rule pack (rules/*.yml) and the generated dashboards (dashboards/json/*.json)
 * into charts/flowpilot/files/, where Helm's .Files can read them. `--check` exits 1 when the
 * chart's copies are stale instead of writing; the chart test runs it that way.
 */
import { readdirSync, readFileSync, writeFileSync, mkdirSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const pairs: Array<{ from: string; to: string; ext: string }> = [
  { from: 'rules', to: 'charts/flowpilot/files/rules', ext: '.yml' },
  { from: 'dashboards/json', to: 'charts/flowpilot/files/dashboards', ext: '.json' },
];

export function staleChartFiles(): string[] {
  const stale: string[] = [];
  for (const { from, to, ext } of pairs) {
    const src = listFiles(join(root, from), ext);
    const dst = listFiles(join(root, to), ext);
    for (const name of src) {
      const a = readFileSync(join(root, from, name), 'utf8');
      const b = dst.includes(name) ? readFileSync(join(root, to, name), 'utf8') : null;
      if (a !== b) stale.push(join(to, name));
    }
    for (const name of dst) if (!src.includes(name)) stale.push(join(to, name));
  }
  return stale;
}

function listFiles(dir: string, ext: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(ext)).sort() : [];
}

function sync(): void {
  for (const { from, to, ext } of pairs) {
    const dest = join(root, to);
    rmSync(dest, { recursive: true, force: true });
    mkdirSync(dest, { recursive: true });
    for (const name of listFiles(join(root, from), ext)) {
      writeFileSync(join(dest, name), readFileSync(join(root, from, name)));
    }
    writeFileSync(join(dest, '.gitkeep'), '');
  }
}

if (import.meta.main) {
  if (process.argv.includes('--check')) {
    const stale = staleChartFiles();
    if (stale.length > 0) {
      process.stderr.write(`chart files are stale (run node scripts/sync-chart-files.ts):\n  ${stale.join('\n  ')}\n`);
      process.exit(1);
    }
  } else {
    sync();
  }
}
