import { describe, expect, it } from "vitest";
import { agentPaceSeconds } from "../../../shared/gate/gate-pacing.js";
import { healthPaceSeconds } from "../../../shared/gate/health-gate.js";
import type { RegisteredTarget } from "../../../shared/gate/record.js";

/** How densely the gate polls what it waits for: the agent, then the load balancer's first passing check. */

const T0 = Date.UTC(2026, 10, 28, 5, 0, 0);
const target = (intervalSeconds: number): RegisteredTarget => ({
  targetGroupArn: `arn:tg-${intervalSeconds}`,
  name: `tg-${intervalSeconds}`,
  port: 8000,
  intervalSeconds,
  healthyThreshold: 2,
  healthCheck: "HTTP GET",
  loadBalancerArns: [],
});

describe("health pace", () => {
  const justRegistered = { registeredAt: T0, startedAt: T0 - 60_000 };
  it("looks twice per check interval while a first passing check may come, between every 5 and every 10 s", () => {
    expect(healthPaceSeconds(justRegistered, [target(10)], T0 + 1000)).toBe(5);
    expect(healthPaceSeconds(justRegistered, [target(30)], T0 + 1000)).toBe(10);
    expect(healthPaceSeconds(justRegistered, [target(5)], T0 + 1000)).toBe(5);
    expect(healthPaceSeconds(justRegistered, [target(300)], T0 + 1000)).toBe(10);
    // The fastest of the target groups sets it.
    expect(healthPaceSeconds(justRegistered, [target(30), target(10)], T0 + 1000)).toBe(5);
  });

  it("after one interval and the registration's propagation, looks at the checks' own pace", () => {
    expect(healthPaceSeconds(justRegistered, [target(10)], T0 + 41_000)).toBe(10);
    expect(healthPaceSeconds(justRegistered, [target(30)], T0 + 61_000)).toBe(30);
  });
});

describe("agent pace", () => {
  const wait = (bootstrapPhase: "all" | "prepare" | "start") => ({
    startedAt: T0,
    mode: { bootstrapPhase, needsTraffic: bootstrapPhase !== "prepare" },
  });
  it("looks every 5 s for the agent of an instance out of a warm pool, every 10 s for a new one", () => {
    expect(agentPaceSeconds(wait("start"), T0 + 30_000)).toBe(5);
    expect(agentPaceSeconds(wait("all"), T0 + 30_000)).toBe(10);
    expect(agentPaceSeconds(wait("prepare"), T0 + 30_000)).toBe(10);
  });

  it("slows to every 15 s for stragglers, whatever the wait", () => {
    expect(agentPaceSeconds(wait("start"), T0 + 121_000)).toBe(15);
    expect(agentPaceSeconds(wait("all"), T0 + 121_000)).toBe(15);
  });
});
