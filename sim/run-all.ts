import "./offline-environment.js";

/**
 * `npm run sim:all`: every SIMULATION scenario, one line each — outcome counts, invariant violations,
 * retried invocations, and the wall-clock time the scenario took to simulate. Exits 1 on any violation.
 */

const { ALL_SCENARIOS: SCENARIOS } = await import("./scenarios.js");
const { runScenario } = await import("./run-scenario.js");

let violations = 0;
const width = Math.max(...SCENARIOS.map((scenario) => scenario.name.length));
console.log(
  `${"scenario".padEnd(width)} ${"launched".padStart(8)} ${"InService".padStart(9)} ${"abandoned".padStart(9)} ${"drained".padStart(7)} ${"retried".padStart(7)} ${"violations".padStart(10)} ${"sim time".padStart(8)} ${"wall ms".padStart(8)}`,
);
for (const scenario of SCENARIOS) {
  const started = performance.now();
  const { result } = await runScenario(scenario);
  const wall = performance.now() - started;
  const count = (predicate: (i: (typeof result.instances)[number]) => boolean) =>
    result.instances.filter(predicate).length;
  // Instances that left a draining group with their drain finished (scale-in).
  const drained = result.drains.filter((drain) => drain.drain?.phase === "done").length;
  const retried = Object.values(result.functionErrors).reduce((sum, n) => sum + n, 0);
  violations += result.violations.length;
  console.log(
    `${scenario.name.padEnd(width)} ${String(result.instances.length).padStart(8)} ${String(count((i) => i.finalState === "InService")).padStart(9)} ${String(count((i) => i.hookResult === "ABANDON")).padStart(9)} ${String(drained).padStart(7)} ${String(retried).padStart(7)} ${String(result.violations.length).padStart(10)} ${`${result.simulatedSeconds}s`.padStart(8)} ${wall.toFixed(0).padStart(8)}`,
  );
  for (const violation of result.violations) console.log(`    VIOLATION ${violation}`);
}
process.exit(violations === 0 ? 0 : 1);
