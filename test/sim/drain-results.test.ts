import { describe, expect, it } from "vitest";
import { type DrainResult, drainViolations } from "../../sim/drain-results.js";

/** The drain invariants every scenario is checked against (sim/drain-results.ts). */
const drained: DrainResult = {
  id: "i-0aaaaaaaaaaaaaaa1",
  group: "cnt-backend-asg",
  hookResult: "CONTINUE",
  completedBy: "token",
  deregistrationDelaySeconds: 300,
  drain: { phase: "done", outcome: "drained", reason: "drained in 20s" },
  phases: { deregistered: 0, waitBegan: 300, drainSent: 300.5, completed: 321, terminated: 326 },
};

describe("drain invariants", () => {
  it("a drain in AWS's order, finished and completed by the drain, keeps them", () => {
    expect(drainViolations([drained])).toEqual([]);
  });

  it("a wait at the terminate hook before the deregistration delay has passed breaks them", () => {
    const early = { ...drained, phases: { ...drained.phases, waitBegan: 120 } };
    expect(drainViolations([early])).toEqual([
      expect.stringMatching(
        /waited at the terminate hook 120 s after leaving .* before their 300 s deregistration delay/,
      ),
    ]);
  });

  it("a drain command before the wait, a wait the hook's timeout ended, or no finished drain break them", () => {
    expect(drainViolations([{ ...drained, phases: { ...drained.phases, drainSent: 10 } }])).toHaveLength(1);
    expect(drainViolations([{ ...drained, hookResult: "TIMEOUT" }])).toEqual([
      expect.stringMatching(/ended TIMEOUT, not by the drain's CONTINUE/),
    ]);
    expect(drainViolations([{ ...drained, drain: { phase: "draining" } }])).toEqual([
      expect.stringMatching(/without a finished drain \(record: draining\)/),
    ]);
  });
});
