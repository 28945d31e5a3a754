/**
 * A small `--name value` argument parser for the sample jobs, with typed getters that fail
 * with FP_JOB_ARGS naming the argument.
 */
import { FlowpilotError } from '../../common/errors.ts';

export class JobArgs {
  private readonly values = new Map<string, string>();

  constructor(args: string[]) {
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      if (!a.startsWith('--')) throw new FlowpilotError('FP_JOB_ARGS', `unexpected argument "${a}"; arguments are --name value pairs`);
      const eq = a.indexOf('=');
      if (eq > 0) this.values.set(a.slice(2, eq), a.slice(eq + 1));
      else {
        const next = args[i + 1];
        if (next === undefined || next.startsWith('--')) this.values.set(a.slice(2), 'true');
        else {
          this.values.set(a.slice(2), next);
          i++;
        }
      }
    }
  }

  string(name: string, fallback?: string): string {
    const v = this.values.get(name) ?? fallback;
    if (v === undefined) throw new FlowpilotError('FP_JOB_ARGS', `missing required argument --${name}`);
    return v;
  }

  optional(name: string): string | undefined {
    return this.values.get(name);
  }

  number(name: string, fallback?: number): number {
    const raw = this.values.get(name);
    if (raw === undefined) {
      if (fallback === undefined) throw new FlowpilotError('FP_JOB_ARGS', `missing required argument --${name}`);
      return fallback;
    }
    const v = Number(raw);
    if (!Number.isFinite(v)) throw new FlowpilotError('FP_JOB_ARGS', `--${name} must be a number, got "${raw}"`);
    return v;
  }

  int(name: string, fallback?: number): number {
    const v = this.number(name, fallback);
    if (!Number.isInteger(v)) throw new FlowpilotError('FP_JOB_ARGS', `--${name} must be an integer, got ${v}`);
    return v;
  }
}
