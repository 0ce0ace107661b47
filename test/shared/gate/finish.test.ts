import { CompleteLifecycleActionCommand } from "@aws-sdk/client-auto-scaling";
import { beforeEach, describe, expect, it } from "vitest";
import { abandonLaunch, continueLaunch } from "../../../shared/gate/finish.js";
import { outcomeApplied } from "../../../shared/gate/lifecycle-actions.js";
import { lifecycleState, noActiveLifecycleAction } from "../../support/aws-stubs.js";
import { waitingGate } from "../../support/drive.js";
import { type GateHarness, GROUP, INSTANCE_ID } from "../../support/gate-harness.js";

const at = (state: string) => ({ state, groupName: GROUP, availabilityZone: "eu-west-2a" });

describe("outcomeApplied", () => {
  it.each([
    ["Pending:Proceed", true],
    ["InService", true],
    ["Warmed:Pending:Proceed", true],
    ["Warmed:Stopped", true],
    ["Pending:Wait", false],
    ["Warmed:Pending:Wait", false],
    ["Warmed:Pending", false],
    ["Terminating:Wait", false],
  ])("CONTINUE shows in %s: %s", (state, applied) => {
    expect(outcomeApplied("CONTINUE", at(state))).toBe(applied);
  });

  it.each([
    ["Terminating", true],
    ["Terminating:Wait", true],
    ["Terminated", true],
    ["Warmed:Terminating:Proceed", true],
    ["Pending:Wait", false],
    ["InService", false],
  ])("ABANDON shows in %s: %s", (state, applied) => {
    expect(outcomeApplied("ABANDON", at(state))).toBe(applied);
  });

  it("reads an instance gone from its group as abandoned, never as continued", () => {
    expect(outcomeApplied("ABANDON", undefined)).toBe(true);
    expect(outcomeApplied("CONTINUE", undefined)).toBe(false);
  });
});

describe("completing a wait another invocation already completed", () => {
  let h: GateHarness;
  beforeEach(async () => {
    h = await waitingGate();
    h.autoScalingMock.on(CompleteLifecycleActionCommand).rejects(noActiveLifecycleAction());
  });

  const warnings = () => h.logs.filter((line) => line.level === "warn").map((line) => line.message);
  const lastNote = () => h.store.get(INSTANCE_ID).history.at(-1)?.note;

  it("counts CONTINUE as applied when the instance went on into service: no warning, no record line", async () => {
    lifecycleState(h, "InService");
    expect(await continueLaunch(h.deps, h.store.get(INSTANCE_ID), "healthy")).toBe("completed-elsewhere");
    expect(warnings()).toEqual([]);
    expect(lastNote()).toBe("healthy");
  });

  it("counts ABANDON as applied when the instance is terminating", async () => {
    lifecycleState(h, "Terminating:Wait");
    expect(await abandonLaunch(h.deps, h.store.get(INSTANCE_ID), "bootstrap failed")).toBe(
      "completed-elsewhere",
    );
    expect(warnings()).toEqual([]);
    expect(lastNote()).toBe("bootstrap failed");
  });

  it("still warns, and says so in the record, when the instance shows another outcome", async () => {
    lifecycleState(h, "Terminating");
    expect(await continueLaunch(h.deps, h.store.get(INSTANCE_ID), "healthy")).toBe("not-active");
    expect(warnings()).toEqual(["lifecycle action was no longer active; our outcome did not apply"]);
    expect(lastNote()).toBe("hook no longer waiting when completing with CONTINUE");
  });
});
