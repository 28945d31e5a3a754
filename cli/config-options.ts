/**
 * Turns the flags generated from a config schema (common/schema-flags.ts) into commander
 * options: the value syntax and help come from the schema, enums list their choices, booleans
 * get a hidden `--no-` form, and no commander default is set, so a flag only counts when given
 * (the config file and the schema's defaults stay underneath). Unknown options are refused in
 * the action with the closest flag and key, which commander alone cannot name.
 */
import { Command, Option } from 'commander';
import { FlowpilotError } from '../common/errors.ts';
import { helpText, unknownFlagError, valueName, type ConfigFlag } from '../common/schema-flags.ts';

const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];

/** The commander options of a flag (two for a boolean: `--x` and the hidden `--no-x`). */
export function configOptions(f: ConfigFlag): Option[] {
  if (f.kind === 'boolean') return [new Option(f.flag, helpText(f)), new Option(`--no-${f.flag.slice(2)}`, `set ${f.path.join('.')} to false`).hideHelp()];
  const opt = new Option(`${f.flag} ${valueName(f)}`, helpText(f));
  if (f.kind === 'enum' && f.choices) opt.choices(f.choices);
  // A map is repeated (`--x a=1 --x b=2`) or given several values at once, as a list is.
  if (f.kind === 'map') opt.argParser(collect);
  return [opt];
}

/**
 * Adds every flag to the command and refuses anything else it is given: unknown options reach
 * the action as arguments (allowUnknownOption), where they are reported with a suggestion.
 */
export function addConfigOptions(cmd: Command, flags: readonly ConfigFlag[]): Command {
  for (const f of flags) for (const o of configOptions(f)) cmd.addOption(o);
  cmd.allowUnknownOption().allowExcessArguments();
  return cmd;
}

/** Throws the usage error for the first unknown option or stray argument the command got. */
export function refuseUnknown(cmd: Command, flags: readonly ConfigFlag[]): void {
  const name = cmd.parent ? `${cmd.parent.name()} ${cmd.name()}` : cmd.name();
  const first = cmd.args[0];
  if (first === undefined) return;
  if (first.startsWith('-')) throw unknownFlagError(first, flags, name);
  throw new FlowpilotError('FP_CLI_USAGE', `unexpected argument '${first}' for ${name}: it takes flags only (see ${name} --help)`);
}
