/**
 * Child process of the state-persistence test: runs the autoscaler pipeline as the agent wires
 * it (the Actuator behind an ActuatorRealizer, the state in the journal's file store) through
 * phase one, prints its decisions as one JSON line, then waits to be killed with SIGKILL.
 * Usage: node crashing-pipeline.ts JOURNAL_DIR
 */
import { AutoscalerPipeline } from '../../../agent/scaling/pipeline.ts';
import { policySchema } from '../../../agent/scaling/policy-schema.ts';
import { Actuator } from '../../../agent/actuate/actuator.ts';
import { ActuatorRealizer } from '../../../agent/actuate/realizer.ts';
import { IntentJournal } from '../../../agent/actuate/journal/intent.ts';
import { FileJournalStore } from '../../../agent/actuate/journal/file-store.ts';
import { DEFAULT_TIMING, defaultSleep } from '../../../agent/actuate/context.ts';
import { journalStateStore } from '../../../agent/process/autoscaler.ts';
import { silentLogger } from '../../../common/log.ts';
import { newJob, phaseOne, POLICY } from './state-scenario.ts';

const dir = process.argv[2]!;
const store = new FileJournalStore(dir);
const journal = new IntentJournal(store);
const actuator = new Actuator({ context: { journal, timing: DEFAULT_TIMING, clock: Date.now, sleep: defaultSleep, log: silentLogger() } });
const pipeline = new AutoscalerPipeline({
  policy: policySchema.parse(POLICY),
  realizer: new ActuatorRealizer({ actuator, journal, mode: 'dry-run' }),
  store: journalStateStore(store, 262_144),
  saveEveryMs: 3_600_000, // only the notable changes are saved: what a crash keeps is what the pipeline saved at once
});
const decisions = await phaseOne(newJob(), (obs) => pipeline.scale(obs));
await pipeline.actions.settled();
process.stdout.write(`${JSON.stringify({ decisions, restartCostSec: pipeline.controller.history('job-1')?.restartCostSec })}\n`);
setInterval(() => undefined, 60_000); // wait for SIGKILL; never stop() (no final flush)
