/**
 * Renders the CLI reference (docs/reference/cli.md) from the command tree itself, so the reference
 * cannot drift from the flags: `node scripts/cli-reference.ts` rewrites the file, and
 * test/docs/cli-reference.test.ts fails when it is stale.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { buildProgram } from '../cli/program.ts';

export const CLI_REFERENCE = join(import.meta.dirname, '..', 'docs', 'reference', 'cli.md');

function fullName(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c !== null; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

function walk(cmd: Command, out: string[]): void {
  cmd.configureHelp({ helpWidth: 100 });
  const depth = fullName(cmd).split(' ').length;
  out.push(`${'#'.repeat(Math.min(depth + 1, 4))} \`${fullName(cmd)}\``, '', cmd.description() || '', '', '```text', cmd.helpInformation().trimEnd(), '```', '');
  for (const sub of cmd.commands) if (sub.name() !== 'help') walk(sub, out);
}

export async function cliReference(): Promise<string> {
  const program = await buildProgram();
  const out = [
    '# CLI reference',
    '',
    'Every `flowpilot` command with its options, as `--help` prints them. Generated from the command',
    'definitions by `node scripts/cli-reference.ts`; a test fails when this file is stale.',
    '',
  ];
  walk(program, out);
  return out.join('\n');
}

if (import.meta.main) writeFileSync(CLI_REFERENCE, await cliReference());
