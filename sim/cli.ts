import "./offline-environment.js";
import { parseArgs } from "node:util";

/**
 * `npm start [-- options]`: the main job, offline. Runs a SIMULATED scale-out of the built-in default
 * (cnt-backend, 1 → 3 instances) through the real launchgate handlers and prints a timeline and a
 * summary. Options choose a scenario and an instance count; --json prints machine-readable results.
 */

const USAGE = `usage: npm start -- [--scenario NAME] [--instances N] [--seed N] [--json] [--full] [--list]
  --scenario NAME   which scenario to run (default: scale-out); --list shows them
  --instances N     how many new instances the first group scales out by (default: the scenario's)
  --seed N          seed for the simulated randomness (default 42)
  --json            print the results as JSON instead of the report
  --full            print the whole timeline and every instance`;

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

function positiveInteger(value: string | undefined, name: string, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max)
    fail(`--${name} must be a whole number from 1 to ${max} (got "${value}")`);
  return n;
}

let args: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    options: {
      scenario: { type: "string", default: "scale-out" },
      instances: { type: "string" },
      seed: { type: "string" },
      json: { type: "boolean", default: false },
      full: { type: "boolean", default: false },
      list: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
}
try {
  args = parse();
} catch (error) {
  fail((error as Error).message);
}

// Imported after the environment above is set: the handlers' logger and clients read it at load.
const { ALL_SCENARIOS: SCENARIOS } = await import("./scenarios.js");
const { runScenario } = await import("./run-scenario.js");
const { renderReport } = await import("./report.js");

if (args.values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (args.values.list) {
  for (const scenario of SCENARIOS) console.log(`${scenario.name.padEnd(22)} ${scenario.title}`);
  process.exit(0);
}
const base = SCENARIOS.find((candidate) => candidate.name === args.values.scenario);
if (!base)
  fail(`unknown scenario "${args.values.scenario}"; known: ${SCENARIOS.map((s) => s.name).join(", ")}`);
const instances = positiveInteger(args.values.instances, "instances", 500);
const seed = positiveInteger(args.values.seed, "seed", 2 ** 31);
const [first, ...rest] = base.groups;
const scenario = {
  ...base,
  seed: seed ?? base.seed,
  groups:
    first && instances !== undefined
      ? [{ ...first, scaleTo: first.servingAtStart + instances, maxLaunches: instances + 3 }, ...rest]
      : base.groups,
};

const { result, startedAt } = await runScenario(scenario);
if (args.values.json) {
  console.log(JSON.stringify(result, null, 2));
} else {
  const full = args.values.full;
  console.log(
    renderReport(result, startedAt, {
      timelineLimit: full ? Number.POSITIVE_INFINITY : 80,
      instanceLimit: full ? Number.POSITIVE_INFINITY : 12,
    }),
  );
}
process.exit(result.violations.length === 0 ? 0 : 1);
