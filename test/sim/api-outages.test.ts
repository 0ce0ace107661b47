import { describe, expect, it } from "vitest";
import { CHAOS_FAMILIES } from "../../sim/chaos-families.js";
import { Random } from "../../sim/engine/random.js";
import { collectResults } from "../../sim/results.js";
import { World } from "../../sim/world.js";

/** A scale-out whose SQS is out from 20 s to 140 s: every call in that window must fail whole. */
async function runWithOutage() {
  const family = CHAOS_FAMILIES.find((candidate) => candidate.name === "scale-out");
  if (!family) throw new Error("scale-out family missing");
  const scenario = family.build(3, new Random(3), { instances: 3 });
  const world = await World.create({
    ...scenario,
    apiFaults: { outages: [{ service: "SQS", fromSeconds: 20, toSeconds: 140 }] },
  });
  world.router.callLog = [];
  // What reached the queue model (the service doing the work), and when.
  const reached: number[] = [];
  const sqs = world.sqs as unknown as Record<"sendMessage" | "sendMessageBatch", (input: unknown) => unknown>;
  for (const name of ["sendMessage", "sendMessageBatch"] as const) {
    const original = sqs[name].bind(world.sqs);
    sqs[name] = (input) => {
      reached.push(world.context.clock.now());
      return original(input);
    };
  }
  await world.run();
  return { world, reached, result: collectResults(world) };
}

describe("simulated service outages (ApiFaults.outages)", () => {
  it("fail every call to the service in the window before the work, and none outside it", async () => {
    const { world, reached, result } = await runWithOutage();
    const at = (seconds: number) => world.startedAt + seconds * 1000;
    const attempts = (world.router.callLog ?? []).filter((call) => /^SendMessage/.test(call.api));
    const inWindow = attempts.filter((call) => call.at >= at(20) && call.at < at(140));
    // The gate did try SQS during the outage (so the test can fail) and nothing it sent then was stored.
    expect(inWindow.length).toBeGreaterThan(0);
    expect(reached.filter((t) => t >= at(20) && t < at(140))).toEqual([]);
    // Outside the window SQS works: every attempt there reached the queue model (each attempt is counted
    // in the call log the instant before the model runs), before the window and after it.
    const outside = (t: number) => t < at(20) || t >= at(140);
    expect(reached.filter(outside)).toEqual(attempts.map((call) => call.at).filter(outside));
    expect(reached.some((t) => t < at(20))).toBe(true);
    expect(reached.some((t) => t >= at(140))).toBe(true);
    // The outage delays the launches; it breaks none of them.
    expect(result.violations).toEqual([]);
    expect(result.instances.filter((i) => i.hookResult === "CONTINUE")).toHaveLength(3);
  });
});
