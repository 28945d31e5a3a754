/**
 * The default rule pack (rules/*.yml) copied with every `for:` shortened, so end-to-end tests see
 * alerts fire in seconds; expressions, labels and annotations stay exactly as shipped.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const RULES = resolve(import.meta.dirname, '..', '..', 'rules');

export function shortenedRulePack(dir: string, forDuration = '3s'): string[] {
  return readdirSync(RULES)
    .filter((f) => f.endsWith('.yml'))
    .map((f) => {
      const text = readFileSync(join(RULES, f), 'utf8').replace(/^(\s+)for: \S+$/gm, `$1for: ${forDuration}`);
      const out = join(dir, f);
      writeFileSync(out, text);
      return out;
    });
}
