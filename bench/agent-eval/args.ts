/** The agent-eval command lines' flags: `--name value` pairs, numbers checked with a clear error (exit 2). */
export interface Flags {
  /** The value after `name`, or undefined when the flag is absent. */
  arg(name: string): string | undefined;
  /** A number flag, `def` when absent; at least `min` (default: greater than 0). */
  num(name: string, def: number, min?: number): number;
  /** Extra Node flags for the agent child (`--agent-node-flags "--x --y"`), split on spaces. */
  agentNodeFlags(): string[];
}

export function flags(argv: readonly string[]): Flags {
  const arg = (name: string): string | undefined => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
  return {
    arg,
    num(name, def, min) {
      const v = arg(name);
      const n = v === undefined ? def : Number(v);
      if (!Number.isFinite(n) || (min === undefined ? n <= 0 : n < min)) {
        process.stderr.write(`${name} needs a number ${min === undefined ? '> 0' : `>= ${min}`}, got ${v}\n`);
        process.exit(2);
      }
      return n;
    },
    agentNodeFlags: () => (arg('--agent-node-flags') ?? '').split(/\s+/).filter(Boolean),
  };
}
