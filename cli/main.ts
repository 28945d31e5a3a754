#!/usr/bin/env node
/**
 * The `flowpilot` command line. Each file in cli/commands/ registers one group of
 * subcommands; heavy modules are imported lazily inside each action so that
 * `flowpilot --help` stays fast.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { errorMessage, isFlowpilotError } from '../common/errors.ts';

export interface CommandModule {
  register(program: Command): void;
}

/** The one version: package.json's (the image tag and the chart's appVersion are the same). */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

async function main(argv: string[]): Promise<void> {
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
  await program.parseAsync(argv);
}

main(process.argv).catch((err: unknown) => {
  const code = isFlowpilotError(err) ? ` [${err.code}]` : '';
  process.stderr.write(`flowpilot: ${errorMessage(err)}${code}\n`);
  process.exit(process.exitCode && process.exitCode !== 0 ? process.exitCode : 1);
});
