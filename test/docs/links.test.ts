/** Every relative link in the docs, the README and BENCHMARKS.md points at a file that exists. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

const root = join(import.meta.dirname, '..', '..');

function markdown(dir: string, out: string[]): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) markdown(p, out);
    else if (name.endsWith('.md')) out.push(p);
  }
  return out;
}

describe('documentation links', () => {
  it('resolve to files in the repository', () => {
    const files = [...markdown(join(root, 'docs'), []), join(root, 'README.md'), join(root, 'BENCHMARKS.md')];
    assert.ok(files.length > 20);
    const broken: string[] = [];
    for (const f of files) {
      for (const m of readFileSync(f, 'utf8').matchAll(/\]\((?!https?:|#|mailto:)([^)#\s]+)(#[^)\s]*)?\)/g)) {
        if (!existsSync(normalize(join(dirname(f), m[1]!)))) broken.push(`${relative(root, f)}: ${m[1]}`);
      }
    }
    assert.deepEqual(broken, []);
  });
});
