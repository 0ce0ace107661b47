import { CompleteLifecycleActionCommand } from "@aws-sdk/client-auto-scaling";
import { beforeEach, describe, expect, it } from "vitest";
import { onCommandFinished } from "../../../shared/gate/command-outcome.js";
import { resumeCompletion } from "../../../shared/gate/finish.js";
import { onHealthRecheck } from "../../../shared/gate/health-gate.js";
import { onAgentRecheck, startGate } from "../../../shared/gate/start-gate.js";
import type { MetricDatum } from "../../../shared/metrics/sink.js";
import {
  agentPing,
  CNT_TARGET_GROUP,
  groupTargetGroups,
  hookAcceptsCompletion,
  invocation,
  lifecycleState,
  loadBalancerZones,
  noActiveLifecycleAction,
  sendCommandReturns,
  targetHealth,
} from "../../support/aws-stubs.js";
import { commandFinished, launchEvent, recheck } from "../../support/events.js";
import { type GateHarness, GROUP, gateHarness, INSTANCE_ID } from "../../support/gate-harness.js";

/** The metrics a real flow emits, through the gate's own steps (the sink is the harness's recorder). */

let h: GateHarness;

const named = (name: string) => h.metrics.filter((datum) => datum.name === name);
const value = (name: string) => named(name).map((datum) => datum.value);

/** A launch: event at T0, agent Online 20 s later, bootstrap done 100 s after that, registered. */
async function bootstrapped(zone = "eu-west-2a"): Promise<void> {
  lifecycleState(h, "Pending:Wait", zone);
  hookAcceptsCompletion(h);
  groupTargetGroups(h, [CNT_TARGET_GROUP]);
  targetHealth(h, "unused", "Target.NotRegistered");
  agentPing(h, undefined);
  await startGate(h.deps, launchEvent());
  h.advanceSeconds(20);
  agentPing(h, "Online");
  sendCommandReturns(h, "cmd-1");
  await onAgentRecheck(h.deps, recheck("agent"));
  h.advanceSeconds(100);
  invocation(h, { status: "Success" });
  await onCommandFinished(h.deps, commandFinished("cmd-1"));
}

beforeEach(() => {
  h = gateHarness();
});

describe("the metrics of a launch gate", () => {
  it("counts a start, a CONTINUE, each phase's duration and the time to InService, per group", async () => {
    await bootstrapped();
    expect(h.metrics).toEqual<MetricDatum[]>([
      { name: "LaunchesStarted", unit: "Count", value: 1, dimensions: { group: GROUP } },
    ]);
    h.advanceSeconds(45);
    targetHealth(h, "healthy");
    await onHealthRecheck(h.deps, recheck("health"));

    expect(value("LaunchesContinued")).toEqual([1]);
    expect(value("AgentWaitSeconds")).toEqual([20]);
    expect(value("BootstrapSeconds")).toEqual([100]);
    expect(value("HealthWaitSeconds")).toEqual([45]);
    expect(value("TimeToInServiceSeconds")).toEqual([165]);
    expect(named("LaunchesAbandoned")).toEqual([]);
    for (const datum of h.metrics) expect(datum.dimensions).toEqual({ group: GROUP });
    const units = Object.fromEntries(h.metrics.map((datum) => [datum.name, datum.unit]));
    expect(units).toMatchObject({ TimeToInServiceSeconds: "Seconds", LaunchesContinued: "Count" });
  });

  it("counts an abandon per group and per reason class: Target.NotInUse", async () => {
    await bootstrapped("eu-west-2c");
    targetHealth(h, "unused", "Target.NotInUse", "not configured to receive traffic");
    loadBalancerZones(h, ["eu-west-2a", "eu-west-2b"]);
    h.advanceSeconds(30);
    await onHealthRecheck(h.deps, recheck("health"));

    expect(named("LaunchesAbandoned")).toEqual([
      {
        name: "LaunchesAbandoned",
        unit: "Count",
        value: 1,
        dimensions: { group: GROUP },
        alsoBy: { reason: "not-in-use" },
      },
    ]);
    expect(named("TimeToInServiceSeconds")).toEqual([]);
    expect(value("BootstrapSeconds")).toEqual([100]);
  });

  it("classes a failed bootstrap as bootstrap", async () => {
    lifecycleState(h, "Pending:Wait");
    hookAcceptsCompletion(h);
    agentPing(h, "Online");
    sendCommandReturns(h, "cmd-1");
    await startGate(h.deps, launchEvent());
    await onAgentRecheck(h.deps, recheck("agent"));
    invocation(h, { status: "Failed", stderr: "[launchgate] step pull-images failed" });
    await onCommandFinished(h.deps, commandFinished("cmd-1", "Failed"));

    expect(named("LaunchesAbandoned").map((datum) => datum.alsoBy)).toEqual([{ reason: "bootstrap" }]);
  });

  it("classes an agent that never came Online as agent", async () => {
    lifecycleState(h, "Pending:Wait");
    hookAcceptsCompletion(h);
    agentPing(h, "ConnectionLost");
    await startGate(h.deps, launchEvent());
    h.advanceSeconds(600);
    await onAgentRecheck(h.deps, recheck("agent"));

    expect(named("LaunchesAbandoned").map((datum) => datum.alsoBy)).toEqual([{ reason: "agent" }]);
    expect(named("AgentWaitSeconds")).toEqual([]);
  });

  it("counts a CONTINUE decided after the hook had timed out, and that it did not apply", async () => {
    await bootstrapped();
    h.autoScalingMock.on(CompleteLifecycleActionCommand).rejects(noActiveLifecycleAction());
    lifecycleState(h, "Terminating");
    targetHealth(h, "healthy");
    h.advanceSeconds(30);
    await onHealthRecheck(h.deps, recheck("health"));

    expect(value("LaunchOutcomesNotApplied")).toEqual([1]);
    expect(value("LaunchesContinued")).toEqual([1]);
  });

  it("counts an ABANDON once, even when the hook had already ended the same way", async () => {
    lifecycleState(h, "Pending:Wait");
    hookAcceptsCompletion(h);
    agentPing(h, "ConnectionLost");
    await startGate(h.deps, launchEvent());
    h.advanceSeconds(600);
    // The hook timed out (its default: ABANDON): the instance is already terminating.
    h.autoScalingMock.on(CompleteLifecycleActionCommand).rejects(noActiveLifecycleAction());
    lifecycleState(h, "Terminating:Wait");
    await onAgentRecheck(h.deps, recheck("agent"));

    expect(named("LaunchesAbandoned").map((datum) => datum.alsoBy)).toEqual([{ reason: "agent" }]);
    expect(named("LaunchOutcomesNotApplied")).toEqual([]);
  });

  it("counts a decision once when a crashed completion is resumed", async () => {
    await bootstrapped();
    targetHealth(h, "healthy");
    h.advanceSeconds(30);
    h.autoScalingMock.on(CompleteLifecycleActionCommand).rejectsOnce(new Error("socket hang up"));
    await expect(onHealthRecheck(h.deps, recheck("health"))).rejects.toThrow("socket hang up");
    hookAcceptsCompletion(h);
    await resumeCompletion(h.deps, h.store.get(INSTANCE_ID));

    expect(value("LaunchesContinued")).toEqual([1]);
    expect(h.autoScalingMock).toHaveReceivedCommandTimes(CompleteLifecycleActionCommand, 2);
  });
});
