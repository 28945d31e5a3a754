#!/usr/bin/env node
/** The `flowpilot` command line (the tree is built in cli/program.ts). */
import { errorMessage, isFlowpilotError } from '../common/errors.ts';
import { buildProgram } from './program.ts';

async function main(argv: string[]): Promise<void> {
  await (await buildProgram()).parseAsync(argv);
}

main(process.argv).catch((err: unknown) => {
  const code = isFlowpilotError(err) ? ` [${err.code}]` : '';
  process.stderr.write(`flowpilot: ${errorMessage(err)}${code}\n`);
  process.exit(process.exitCode && process.exitCode !== 0 ? process.exitCode : 1);
});
