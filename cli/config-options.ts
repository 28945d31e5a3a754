/**
 * Turns the flags generated from a config schema (common/schema-flags.ts) into commander
 * options: the value syntax and help come from the schema, enums list their choices, booleans
 * get a hidden `--no-` form, and no commander default is set, so a flag only counts when given
 * (the config file and the schema's defaults stay underneath). Unknown options are refused in
 * the action with the closest flag and key, which commander alone cannot name. A ConfigCommand
 * loads its schema only when it parses or prints help, so other commands stay fast.
 */
import { createRequire } from 'node:module';
import { Command, Option, type HelpContext, type ParseOptionsResult } from 'commander';
import { FlowpilotError } from '../common/errors.ts';
import type { ConfigFlag } from '../common/schema-flags.ts';

// zod and yaml come with schema-flags: loaded with the first ConfigCommand's flags, not at start.
const require = createRequire(import.meta.url);
const schemaFlags = () => require('../common/schema-flags.ts') as typeof import('../common/schema-flags.ts');

const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];

/** The commander options of a flag (two for a boolean: `--x` and the hidden `--no-x`). */
export function configOptions(f: ConfigFlag): Option[] {
  const { helpText, valueName } = schemaFlags();
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
  if (first.startsWith('-')) throw schemaFlags().unknownFlagError(first, flags, name);
  throw new FlowpilotError('FP_CLI_USAGE', `unexpected argument '${first}' for ${name}: it takes flags only (see ${name} --help)`);
}

/**
 * A command whose options come from a config schema, loaded the first time they are needed: when
 * this command parses its arguments or renders its help. `load` runs synchronously (a
 * require() of the schema module), because commander renders help synchronously.
 */
export class ConfigCommand extends Command {
  readonly #load: () => ConfigFlag[];
  #flags: ConfigFlag[] | null = null;

  constructor(name: string, load: () => ConfigFlag[]) {
    super(name);
    this.#load = load;
  }

  /** The generated flags, added as options on first use. */
  configFlags(): ConfigFlag[] {
    if (this.#flags === null) {
      this.#flags = this.#load();
      addConfigOptions(this, this.#flags);
    }
    return this.#flags;
  }

  override parseOptions(argv: string[]): ParseOptionsResult {
    this.configFlags();
    return super.parseOptions(argv);
  }

  override helpInformation(context?: HelpContext): string {
    this.configFlags();
    return super.helpInformation(context);
  }
}
