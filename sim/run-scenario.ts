import { collectResults, type ScenarioResult } from "./results.js";
import type { Scenario } from "./scenario.js";
import { World } from "./world.js";

/** SIMULATION — runs one scenario through the real handlers and returns its results. */
export async function runScenario(
  scenario: Scenario,
): Promise<{ result: ScenarioResult; startedAt: number }> {
  const world = await World.create(scenario);
  await world.run();
  return { result: collectResults(world), startedAt: world.startedAt };
}
