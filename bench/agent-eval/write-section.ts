/**
 * Replaces one `## <heading>` section of a Markdown file (up to the next `## ` heading), or
 * appends it when absent; the file is created with a `# Benchmarks` title when missing. Other
 * sections are left byte for byte. run.ts calls it under `flock /tmp/fp-bench.lock` because
 * several benchmarks write BENCHMARKS.md: `node write-section.ts FILE HEADING BODY_FILE`.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export function replaceSection(doc: string, heading: string, body: string): string {
  const title = `## ${heading}`;
  const section = `${title}\n\n${body.trim()}\n`;
  const lines = doc.split('\n');
  const start = lines.findIndex((l) => l.trim() === title);
  if (start < 0) return `${doc.replace(/\n*$/, '')}\n\n${section}`;
  let end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
  if (end < 0) end = lines.length;
  const before = lines.slice(0, start).join('\n');
  const after = lines.slice(end).join('\n');
  return `${before}${before ? '\n' : ''}${section}${after ? `\n${after}` : ''}`;
}

if (import.meta.main) {
  const [file, heading, bodyFile] = process.argv.slice(2);
  if (!file || !heading || !bodyFile) {
    process.stderr.write('usage: node write-section.ts FILE HEADING BODY_FILE\n');
    process.exit(2);
  }
  const doc = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  writeFileSync(file, replaceSection(doc, heading, readFileSync(bodyFile, 'utf8')));
}
