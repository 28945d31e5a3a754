/**
 * The autoscaler under test in the simulator: flowpilot's decision engine through the same
 * ScalingController the agent uses, observing every 15 s.
 */
import type { JobObservation } from '../scaling/observation.ts';
import type { ScalingPolicy } from '../scaling/policy-schema.ts';
import type { ScaleDecision } from '../scaling/decision.ts';
import { ScalingController } from '../scaling/controller.ts';
import type { Autoscaler } from './runner.ts';

export class FlowpilotAutoscaler implements Autoscaler {
  name = 'flowpilot';
  intervalSec: number;
  readonly controller: ScalingController;
  readonly decisions: ScaleDecision[] = [];
  private readonly keep: boolean;

  constructor(policy: ScalingPolicy, opts: { intervalSec?: number; keepDecisions?: boolean } = {}) {
    this.controller = new ScalingController(policy);
    this.intervalSec = opts.intervalSec ?? 15;
    this.keep = opts.keepDecisions ?? false;
  }

  step(obs: JobObservation): Record<string, number> | undefined {
    const d = this.controller.step(obs);
    if (this.keep || d.action === 'rescale') this.decisions.push(d);
    return d.action === 'rescale' ? d.parallelism : undefined;
  }
}
