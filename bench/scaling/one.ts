/**
 * One trace, one plant, one seed, flowpilot only, with its rescale decisions (reasons) and each
 * reversal marked: the quick way to read why a case misses a target.
 *   node bench/scaling/one.ts --trace bursty --plant single --seed 2 [--heavy] [--all] [--policy f.yaml]
 * --all prints every decision that blocked a scale-down within 30 min before each rescale too.
 */
import { runSimulation, SIM_START_MS } from '../../agent/simulate/runner.ts';
import { FlowpilotAutoscaler } from '../../agent/simulate/flowpilot.ts';
import { plantByName } from '../../agent/simulate/scenario.ts';
import { syntheticTrace } from '../../agent/simulate/traces.ts';
import { defaultPolicy, loadPolicyFile } from '../../agent/scaling/policy.ts';
import { slotsFor } from '../../agent/scaling/decision.ts';

const argv = process.argv.slice(2);
const arg = (n: string): string | undefined => (argv.includes(n) ? argv[argv.indexOf(n) + 1] : undefined);
const traceName = arg('--trace') ?? 'bursty';
const seed = Number(arg('--seed') ?? 1);
const base = plantByName(arg('--plant') ?? 'job4');
const plant = argv.includes('--heavy') ? { ...base, stateBytes: 30e9 } : base;
const policy = arg('--policy') ? loadPolicyFile(arg('--policy')!) : defaultPolicy();
const trace = syntheticTrace(traceName, seed);
const fp = new FlowpilotAutoscaler(policy, { keepDecisions: argv.includes('--all') });
const r = runSimulation({ trace, plant, seed, autoscaler: fp });
const hm = (t: number): string => {
  const s = (t - SIM_START_MS) / 1000;
  return `d${Math.floor(s / 86400)} ${new Date(t).toISOString().slice(11, 16)}`;
};
let prev: { t: number; slots: number; dir: number } | undefined;
let slotsNow = Math.max(...Object.values(plant.initialParallelism));
for (const d of fp.decisions) {
  if (d.action !== 'rescale') continue;
  const s = slotsFor(d.parallelism, true);
  const dir = Math.sign(s - slotsNow) || 1;
  const rev = prev && prev.dir !== dir && d.time - prev.t < 600_000;
  const rate = trace.rate((d.time - SIM_START_MS) / 1000);
  console.log(`${rev ? 'REVERSAL ' : ''}${hm(d.time)} ${slotsNow}->${s} slots, trace ${Math.round(rate)} arr ${Math.round(d.arrivalRate)} recent ${Math.round(d.recentArrivalRate)} cap ${Math.round(d.capacityRate)} lag ${Math.round(d.lagSeconds)} restart ${Math.round(d.restartCostSec)}s ${JSON.stringify(d.parallelism)}`);
  for (const x of d.reasons) console.log(`    ${x}`);
  prev = { t: d.time, slots: s, dir };
  slotsNow = s;
}
console.log(JSON.stringify(r));
const from = arg('--from');
const to = arg('--to');
if (from && to) {
  // Every decision between two times ("d1 20:40" form), with its model numbers.
  const parse = (s: string): number => { const m = /^d(\d+) (\d+):(\d+)$/.exec(s)!; return SIM_START_MS + Number(m[1]) * 86400_000 + Number(m[2]) * 3600_000 + Number(m[3]) * 60_000; };
  for (const d of fp.decisions) {
    if (d.time < parse(from) || d.time > parse(to)) continue;
    const pv = Object.entries(d.perVertex).map(([id, m]) => `${id}: p ${m.parallelism} rec ${m.recommended} true ${Math.round(m.trueRate)} sizing ${m.sizingRate === undefined ? '-' : Math.round(m.sizingRate)} target ${Math.round(m.targetRate)}`).join('; ');
    console.log(`${hm(d.time)} ${d.action} ${d.blockedBy ?? ''} arr ${Math.round(d.arrivalRate)} recent ${Math.round(d.recentArrivalRate)} fc ${d.forecastRate === undefined ? '-' : Math.round(d.forecastRate)} | ${pv}`);
    for (const x of d.reasons) console.log(`    ${x}`);
  }
}
