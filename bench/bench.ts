import "../sim/offline-environment.js";
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { DEFAULT_POLL_INTERVAL_SECONDS } from "../shared/config/poll-intervals.js";
import type { BenchFigures, BurstFigures, PollIntervalTrade } from "./render.js";

/**
 * `npm run bench [-- --json FILE] [--seeds N] [--pairs N]`: measures what issue 11 asks of the gate,
 * each figure beside its baseline and goal, in one run:
 * - AWS calls per successful launch, over simulated scale-outs of 8 instances (one seed each, every
 *   seed its own agent delays, bootstrap durations and health-check phases), and with 60 % of the
 *   control plane's attempts throttled (what throttles in AWS) — and, beside it, of every API's;
 * - the gate's reaction lag per polled phase on those launches, beside the common polling sample
 *   (a fixed 30 s poll) replayed on the very same launches;
 * - each function bundle's size and cold import time against a naive bundle, in paired fresh processes;
 * - what longer poll intervals (the config's pollIntervalSeconds) trade: calls per launch against lag.
 * Timings on this machine are noisy: read the ratios, not the milliseconds. Nothing here is asserted.
 */

const USAGE = `usage: npm run bench -- [--json FILE] [--seeds N] [--pairs N]
  --json FILE   also write the figures to FILE
  --seeds N     scale-outs per sweep (default 48; the throttled sweep runs half as many)
  --pairs N     paired cold-import runs per function (default 15)`;

let values: { json?: string; seeds?: string; pairs?: string; help?: boolean };
try {
  values = parseArgs({
    options: {
      json: { type: "string" },
      seeds: { type: "string" },
      pairs: { type: "string" },
      help: { type: "boolean", default: false },
    },
    strict: true,
  }).values;
} catch (error) {
  console.error(`${(error as Error).message}\n${USAGE}`);
  process.exit(2);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const whole = (value: string | undefined, name: string, fallback: number) => {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000) {
    console.error(`--${name} must be a whole number from 1 to 1000 (got "${value}")\n${USAGE}`);
    process.exit(2);
  }
  return n;
};
const seeds = whole(values.seeds, "seeds", 48);
const pairs = whole(values.pairs, "pairs", 15);

const { buildAllFunctions } = await import("../scripts/build-functions.js");
const { measureColdImport } = await import("./cold-import.js");
const { CONTROL_PLANE_SERVICES, compareOverheads, runSweep } = await import("./launch-costs.js");
const { renderBench } = await import("./render.js");

const BURST = 8;
const THROTTLE = 0.6;
/** The baseline polls every 30 s (the fixed polling baseline). */
const BASELINE_PACE_SECONDS = 30;
/**
 * The baseline under throttling: every call retried by the SDK (6 attempts) until it gets through,
 * 1 + 0.6 + … + 0.6^5 attempts per call on average. It makes the same calls as unthrottled, all of
 * them on the control plane.
 */
const ATTEMPTS_PER_CALL_THROTTLED = (1 - THROTTLE ** 6) / (1 - THROTTLE);
/** The poll intervals (agent / health, seconds) the trade table compares: the default first, then longer. */
const POLL_INTERVALS = [
  DEFAULT_POLL_INTERVAL_SECONDS,
  { agent: 3, health: 4 },
  { agent: 4, health: 4 },
  { agent: 4, health: 5 },
];

const started = Date.now();
await buildAllFunctions();
const sweep = await runSweep({ seeds, instances: BURST });
const throttledSeeds = Math.max(1, Math.ceil(seeds / 2));
const throttled = await runSweep({
  seeds: throttledSeeds,
  instances: BURST,
  throttle: THROTTLE,
  throttleServices: CONTROL_PLANE_SERVICES,
});
// Every API throttled, DynamoDB and SQS too (the simulation's "*" spares SQS, which has no rate quota:
// it is named): harsher than AWS, shown beside it (no goal).
const allThrottled = await runSweep({
  seeds: throttledSeeds,
  instances: BURST,
  throttle: THROTTLE,
  throttleServices: ["*", "SQS"],
});
const lag = compareOverheads(sweep.timings, BASELINE_PACE_SECONDS);
// How a burst's per-launch cost falls as it grows (its polls are shared), and what its lag is. Each size
// runs about as many launches as the main sweep (smaller bursts more scale-outs: they are cheap, and a
// lone launch's cost swings with its own draws).
const bySize: BurstFigures[] = [];
for (const burst of [1, 2, BURST, 16, 30]) {
  const scaleOuts = Math.max(4, Math.ceil((seeds * BURST) / burst));
  const sized = burst === BURST ? sweep : await runSweep({ seeds: scaleOuts, instances: burst });
  const { agent, health } = compareOverheads(sized.timings, BASELINE_PACE_SECONDS).gate.phaseOverheadSeconds;
  bySize.push({
    burst,
    scaleOuts: burst === BURST ? seeds : scaleOuts,
    controlPlane: sized.controlPlaneCallsPerLaunch,
    all: sized.callsPerLaunch,
    agentLag: agent,
    healthLag: health,
  });
}
// What longer poll intervals trade: fewer control-plane calls for a later reaction. The default's row is
// the main sweep; each other setting runs the same seeds.
const pollIntervalTrade: PollIntervalTrade[] = [];
for (const interval of POLL_INTERVALS) {
  const traded =
    interval === DEFAULT_POLL_INTERVAL_SECONDS
      ? sweep
      : await runSweep({ seeds, instances: BURST, pollIntervalSeconds: interval });
  pollIntervalTrade.push({
    pollIntervalSeconds: interval,
    controlPlaneCallsPerLaunch: traded.controlPlaneCallsPerLaunch,
    callsPerLaunch: traded.callsPerLaunch,
    ...compareOverheads(traded.timings, BASELINE_PACE_SECONDS).gate,
  });
}
const cold = await measureColdImport(pairs);

const figures: BenchFigures = {
  controlPlaneCallsPerLaunch: sweep.controlPlaneCallsPerLaunch,
  callsPerLaunch: sweep.callsPerLaunch,
  callsPerLaunchThrottled: throttled.callsPerLaunch,
  controlPlaneCallsPerLaunchThrottled: throttled.controlPlaneCallsPerLaunch,
  callsPerLaunchEveryApiThrottled: allThrottled.callsPerLaunch,
  ...lag.gate,
  coldImportRatio: cold.coldImportRatio,
  bundleKiB: cold.bundleKiB,
  pollIntervalTrade,
  baseline: {
    controlPlaneCallsPerLaunch: lag.baselineCallsPerLaunch,
    callsPerLaunch: lag.baselineCallsPerLaunch,
    callsPerLaunchThrottled: lag.baselineCallsPerLaunch * ATTEMPTS_PER_CALL_THROTTLED,
    controlPlaneCallsPerLaunchThrottled: lag.baselineCallsPerLaunch * ATTEMPTS_PER_CALL_THROTTLED,
    callsPerLaunchEveryApiThrottled: lag.baselineCallsPerLaunch * ATTEMPTS_PER_CALL_THROTTLED,
    ...lag.baseline,
    coldImportRatio: { naive: 1 },
    bundleKiB: { naive: cold.baselineBundleKiB },
  },
};

console.log(
  renderBench(figures, {
    launches: sweep.launches,
    throttledLaunches: throttled.launches,
    seeds,
    burst: BURST,
    pairs,
    byApi: sweep.byApi,
    bySize,
    modelled: lag.modelled,
    importMs: cold.importMs,
    baselineImportMs: cold.baselineImportMs,
    seconds: (Date.now() - started) / 1000,
  }),
);
if (values.json) {
  writeFileSync(values.json, `${JSON.stringify(figures, null, 2)}\n`);
  console.log(`\nfigures written to ${values.json}`);
}
