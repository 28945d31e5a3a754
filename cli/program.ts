/**
 * The `flowpilot` command tree: each file in cli/commands/ registers one group of subcommands
 * (heavy modules are imported lazily inside each action, so `flowpilot --help` stays fast).
 * cli/main.ts runs it; scripts/cli-reference.ts renders docs/reference/cli.md from it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command } from 'commander';

export interface CommandModule {
  register(program: Command): void;
}

/** The one version: package.json's (the image tag and the chart's appVersion are the same). */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/** The whole command tree, every file of cli/commands/ registered. */
export async function buildProgram(): Promise<Command> {
  const program = new Command();
  program
    .name('flowpilot')
    .description('A Flink-shaped streaming engine, and an agent that watches, alerts on and autoscales Flink jobs.')
    .version(packageVersion())
    .showHelpAfterError();

  const dir = join(dirname(fileURLToPath(import.meta.url)), 'commands');
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')).sort();
  for (const file of files) {
    const mod = (await import(pathToFileURL(join(dir, file)).href)) as Partial<CommandModule>;
    if (typeof mod.register === 'function') mod.register(program);
  }
  return program;
}

