/**
 * Operator fusion inside a chain. A run of consecutive map and filter operators is called
 * through one generated `collect` per link: `r = f0(r); if (!f1(r)) return; tail.collect(r, t)`,
 * where f0, f1 are the user's functions and `tail` the output of the run's last operator. The
 * code is generated once per chain instance (`new Function`), so every call site in it has
 * its own type feedback and sees exactly one target: V8 inlines the user's functions and the
 * tail into the record loop of the operator in front (a source's emit loop, a map's batch
 * loop), where a shared DirectOutput.collect -> processElement site sees every operator of
 * every chain in the process and stays a polymorphic call per record and per link. Semantics
 * are those of DirectOutput: the same functions in the same order, the output timestamp is the
 * input's, nothing is buffered between them; flush and watermarks go through the operators
 * themselves exactly as before. Other elementwise operators (flatMap) end a run and are
 * called through processElement.
 */
import { chainingOutput } from './outputs.ts';
import { isPromise, type Output, type StreamOperator } from './operator.ts';

/** What a fusible operator does per record: map replaces the record, filter keeps it or drops it. */
export interface InlineStep {
  kind: 'map' | 'filter';
  fn: (value: unknown) => unknown;
}

/**
 * The outputs of a chain's operators, `ops[i]`'s output at index i: fused in front of a run of
 * map/filter operators, otherwise as chainingOutput gives it; `last` is the last operator's.
 */
export function chainOutputs(ops: StreamOperator[], last: Output): Output[] {
  const outputs = new Array<Output>(ops.length);
  outputs[ops.length - 1] = last;
  for (let i = ops.length - 2; i >= 0; i--) {
    // ops[i + 1 .. j]: the run of fusible operators after ops[i] (empty when ops[i + 1] is not one).
    const steps: InlineStep[] = [];
    let j = i;
    for (let s = ops[j + 1]!.inlineStep; s !== null; s = j + 1 < ops.length ? ops[j + 1]!.inlineStep : null) {
      steps.push(s);
      j++;
    }
    outputs[i] = steps.length === 0 ? chainingOutput(ops[i + 1]!) : new FusedOutput(ops[i + 1]!, steps, outputs[j]!);
  }
  return outputs;
}

export class FusedOutput implements Output {
  /** Generated for this instance: the run's functions inline, then the tail. */
  readonly collect: (record: unknown, timestamp: number) => void;
  private readonly next: StreamOperator;
  private readonly tail: Output;

  constructor(next: StreamOperator, steps: InlineStep[], tail: Output) {
    this.next = next;
    this.tail = tail;
    this.collect = compile(steps, tail);
  }

  flush(): void | Promise<void> {
    // The run's operators hold nothing: the flush is the tail's, as DirectOutput's would reach it.
    return this.tail.flush();
  }

  emitWatermark(timestamp: number): void | Promise<void> {
    const next = this.next;
    const r = next.processWatermark(timestamp);
    if (isPromise(r)) return r.then(() => next.output.flush());
    return next.output.flush();
  }
}

function compile(steps: InlineStep[], tail: Output): (record: unknown, timestamp: number) => void {
  const names = steps.map((_, k) => `f${k}`);
  const body = steps.map((s, k) => (s.kind === 'map' ? `r = f${k}(r);` : `if (!f${k}(r)) return;`)).join('\n');
  // Generated once per chain instance from a fixed template (no user text), as batch-codec.ts builds its decoders.
  const make = new Function(...names, 'tail', `"use strict";\nreturn function fusedCollect(r, t) {\n${body}\ntail.collect(r, t);\n};`) as (
    ...args: unknown[]
  ) => (record: unknown, timestamp: number) => void;
  return make(...steps.map((s) => s.fn), tail);
}
