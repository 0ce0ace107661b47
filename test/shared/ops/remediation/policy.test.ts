import { describe, expect, it } from "vitest";
import { limitBlastRadius, nextRung, selectTargets } from "../../../../shared/ops/remediation/policy.js";
import { RUNTIME_CONFIG } from "../../../support/gate-harness.js";

const group = RUNTIME_CONFIG.groups[0] as (typeof RUNTIME_CONFIG.groups)[number];
const withPolicy = (changes: Partial<typeof group.remediation>) => ({
  ...group,
  remediation: { ...group.remediation, ...changes },
});
const i = (instanceId: string, healthy: boolean, lifecycle = "InService") => ({
  instanceId,
  healthy,
  lifecycle,
});

describe("selectTargets", () => {
  it("takes the instances a target-group alarm is about: the unhealthy ones, InService only", () => {
    expect(selectTargets([], [i("a", true), i("b", false), i("c", false, "Pending:Wait")])).toEqual([
      { instanceId: "b", verdict: "act", reason: "unhealthy in its target group" },
      { instanceId: "c", verdict: "skip", reason: "is Pending:Wait, not InService" },
    ]);
  });

  it("takes exactly the instances named by an InstanceId dimension, healthy or not", () => {
    expect(selectTargets(["a"], [i("a", true), i("b", false)])).toEqual([
      { instanceId: "a", verdict: "act", reason: "named by the alarm" },
    ]);
  });
});

describe("limitBlastRadius", () => {
  const acting = (decisions: { verdict: string }[]) => decisions.filter((d) => d.verdict === "act").length;

  it("caps at maxInstances and at maxPercentOfGroup (rounded down, at least one)", () => {
    const instances = [i("a", false), i("b", false), i("c", false), i("d", true)];
    const decisions = selectTargets([], instances);
    expect(
      acting(limitBlastRadius(decisions, instances, withPolicy({ maxInstances: 5, maxPercentOfGroup: 50 }))),
    ).toBe(2);
    expect(
      acting(limitBlastRadius(decisions, instances, withPolicy({ maxInstances: 1, maxPercentOfGroup: 100 }))),
    ).toBe(1);
    expect(
      acting(limitBlastRadius(decisions, instances, withPolicy({ maxInstances: 5, maxPercentOfGroup: 10 }))),
    ).toBe(1);
    expect(
      limitBlastRadius(decisions, instances, withPolicy({ maxInstances: 1, maxPercentOfGroup: 100 }))[1],
    ).toEqual({
      instanceId: "b",
      verdict: "refuse",
      refusal: "blast-radius",
      reason: "blast radius: at most 1 instance(s) per alarm episode (maxInstances 1, 100 % of 4)",
    });
  });

  it("never acts on the last healthy instance", () => {
    const instances = [i("a", true), i("b", false)];
    expect(limitBlastRadius(selectTargets(["a"], instances), instances, group)).toEqual([
      {
        instanceId: "a",
        verdict: "refuse",
        refusal: "last-healthy",
        reason: "it is the last healthy instance",
      },
    ]);
  });
});

describe("nextRung", () => {
  const T = 10_000_000;
  it("restarts, then replaces once restartAttempts restarts in the window did not help", () => {
    expect(nextRung({ restarts: [] }, group, T, false)).toEqual({ rung: "restart" });
    expect(nextRung({ restarts: [T - 60_000] }, group, T, true)).toEqual({ rung: "restart" });
    expect(nextRung({ restarts: [T - 120_000, T - 60_000] }, group, T, true)).toEqual({
      rung: "replace",
      reason: "2 restart(s) in the last 60 min did not keep it healthy",
    });
  });

  it("forgets restarts older than the window", () => {
    expect(nextRung({ restarts: [T - 61 * 60_000, T - 62 * 60_000] }, group, T, false)).toEqual({
      rung: "restart",
    });
  });

  it("holds off a new episode within the cooldown, but not the next rung of the same episode", () => {
    expect(nextRung({ restarts: [T - 60_000], lastActionAt: T - 60_000 }, group, T, false)).toEqual({
      rung: "skip",
      reason: "cooldown: acted on it 60 s ago (cooldown 15 min)",
    });
    expect(nextRung({ restarts: [T - 60_000], lastActionAt: T - 60_000 }, group, T, true)).toEqual({
      rung: "restart",
    });
  });
});
