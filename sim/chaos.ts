import { writeFileSync } from "node:fs";
import "./offline-environment.js";
import { parseArgs } from "node:util";

/**
 * `npm run chaos -- --seeds N [--instances N] [--throttle RATE] [--family NAME] [--seed S] [--json FILE]`:
 * runs every chaos family (sim/chaos-families.ts) under N seeds in the simulated world built from the
 * synthesized stack, checks every invariant, and exits 1 if any broke — printing, for each failure,
 * the seed and the one command that reproduces it.
 */

const USAGE = `usage: npm run chaos -- [--seeds N] [--seed S] [--family NAME] [--instances N] [--throttle RATE] [--json FILE]
  --seeds N        run seeds 1..N of every family (default 20)
  --seed S         run only seed S (what a failure's reproduction line uses)
  --family NAME    run only this family (repeatable); --list shows them
  --instances N    new instances per scale-out, for the families that scale out
  --throttle RATE  share (0-1) of API attempts throttled for 15 minutes, in every family
  --json FILE      also write every run's figures to FILE`;

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

let values: ReturnType<typeof parse>["values"];
function parse() {
  return parseArgs({
    options: {
      seeds: { type: "string" },
      seed: { type: "string" },
      family: { type: "string", multiple: true },
      instances: { type: "string" },
      throttle: { type: "string" },
      json: { type: "string" },
      list: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
}
try {
  values = parse().values;
} catch (error) {
  fail((error as Error).message);
}
const whole = (value: string | undefined, name: string, max: number) => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max)
    fail(`--${name} must be a whole number from 1 to ${max} (got "${value}")`);
  return n;
};
const seeds = whole(values.seeds, "seeds", 100_000) ?? 20;
const onlySeed = whole(values.seed, "seed", 2 ** 31);
const instances = whole(values.instances, "instances", 1000);
const throttle = values.throttle === undefined ? undefined : Number(values.throttle);
if (throttle !== undefined && !(throttle >= 0 && throttle < 1))
  fail(`--throttle must be from 0 to below 1 (got "${values.throttle}")`);

const { CHAOS_FAMILIES } = await import("./chaos-families.js");
const { Random } = await import("./engine/random.js");
const { runScenario } = await import("./run-scenario.js");

if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (values.list) {
  for (const family of CHAOS_FAMILIES) console.log(`${family.name.padEnd(18)} ${family.what}`);
  process.exit(0);
}
const unknown = (values.family ?? []).filter((name) => !CHAOS_FAMILIES.some((f) => f.name === name));
if (unknown.length > 0)
  fail(`unknown family ${unknown.join(", ")}; known: ${CHAOS_FAMILIES.map((f) => f.name).join(", ")}`);
const families = CHAOS_FAMILIES.filter((f) => !values.family || values.family.includes(f.name));
const seedList = onlySeed === undefined ? Array.from({ length: seeds }, (_, k) => k + 1) : [onlySeed];
const options = { instances, throttle };

interface Run {
  readonly family: string;
  readonly seed: number;
  readonly launched: number;
  readonly inService: number;
  readonly abandoned: number;
  readonly violations: readonly string[];
  readonly wallMs: number;
}
const runs: Run[] = [];
const started = performance.now();
for (const family of families) {
  for (const seed of seedList) {
    const scenario = family.build(seed, new Random(seed * 7919 + family.name.length), options);
    const t0 = performance.now();
    const { result } = await runScenario(scenario);
    runs.push({
      family: family.name,
      seed,
      launched: result.instances.length,
      inService: result.instances.filter((i) => i.finalState === "InService").length,
      abandoned: result.instances.filter((i) => i.hookResult === "ABANDON").length,
      violations: result.violations,
      wallMs: Math.round(performance.now() - t0),
    });
  }
  const mine = runs.filter((r) => r.family === family.name);
  const sum = (pick: (r: Run) => number) => mine.reduce((n, r) => n + pick(r), 0);
  console.log(
    `${family.name.padEnd(18)} runs ${String(mine.length).padStart(4)}  launched ${String(sum((r) => r.launched)).padStart(6)}  InService ${String(sum((r) => r.inService)).padStart(6)}  abandoned ${String(sum((r) => r.abandoned)).padStart(5)}  broken runs ${String(mine.filter((r) => r.violations.length > 0).length).padStart(3)}  ${(sum((r) => r.wallMs) / 1000).toFixed(1)} s`,
  );
}
const broken = runs.filter((r) => r.violations.length > 0);
for (const run of broken) {
  const repro = [
    "npm run chaos --",
    `--family ${run.family}`,
    `--seed ${run.seed}`,
    ...(instances ? [`--instances ${instances}`] : []),
    ...(throttle !== undefined ? [`--throttle ${throttle}`] : []),
  ].join(" ");
  console.log(`\nBROKEN ${run.family} seed ${run.seed}: ${run.violations.length} invariant(s)`);
  for (const violation of run.violations.slice(0, 5)) console.log(`  - ${violation}`);
  console.log(`  reproduce: ${repro}`);
}
const seconds = ((performance.now() - started) / 1000).toFixed(1);
console.log(
  `\nchaos: ${runs.length} runs (${families.length} families × ${seedList.length} seeds) in ${seconds} s; ${broken.length} broke an invariant`,
);
if (values.json)
  writeFileSync(values.json, `${JSON.stringify({ options, seconds: Number(seconds), runs }, null, 2)}\n`);
process.exit(broken.length === 0 ? 0 : 1);
