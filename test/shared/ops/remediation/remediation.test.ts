import {
  DescribeAutoScalingGroupsCommand,
  DescribeAutoScalingInstancesCommand,
  SetInstanceHealthCommand,
} from "@aws-sdk/client-auto-scaling";
import { DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import { DescribeTargetHealthCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import { GetCommandInvocationCommand, SendCommandCommand } from "@aws-sdk/client-ssm";
import { beforeEach, describe, expect, it } from "vitest";
import { SkipEventError } from "../../../../shared/errors.js";
import type { AlarmEvent } from "../../../../shared/events/parse-alarm.js";
import { advanceOperation, type OpsDeps } from "../../../../shared/ops/advance-operation.js";
import { startRemediation } from "../../../../shared/ops/remediation/start-remediation.js";
import {
  groupDescription,
  groupTargetGroups,
  invocation,
  sendCommandReturns,
} from "../../../support/aws-stubs.js";
import { type GateHarness, GROUP, gateHarness, RUNTIME_CONFIG } from "../../../support/gate-harness.js";
import { InMemoryOperationStore } from "../../../support/in-memory-operation-store.js";

const SICK = "i-0aaaaaaaaaaaaaaa1";
const WELL = "i-0bbbbbbbbbbbbbbb2";
/** A third instance, healthy unless a test says otherwise: one sick of three is not a shared outage. */
const THIRD = "i-0ccccccccccccccc3";
const ALARM: AlarmEvent = {
  kind: "alarm",
  alarmName: "cnt-backend-unhealthy-hosts",
  reason: "Threshold Crossed",
  instanceIds: [],
  targetGroupNames: ["cnt-backend-tg"],
};

let h: GateHarness;
let operations: InMemoryOperationStore;
let deps: OpsDeps;

function world(
  given: Record<string, "healthy" | "unhealthy">,
  alarm: "ALARM" | "OK" = "ALARM",
  { third = true } = {},
): void {
  const health = third ? { ...given, [THIRD]: given[THIRD] ?? "healthy" } : given;
  const instances = Object.keys(health).map((id) => ({ id, state: "InService" }));
  h.autoScalingMock
    .on(DescribeAutoScalingGroupsCommand)
    .resolves({ AutoScalingGroups: [groupDescription(instances)] });
  h.autoScalingMock.on(DescribeAutoScalingInstancesCommand).callsFake(async (input) => ({
    AutoScalingInstances: (input.InstanceIds ?? []).map((id: string) => ({
      InstanceId: id,
      AutoScalingGroupName: GROUP,
      AvailabilityZone: "eu-west-2a",
      LifecycleState: "InService",
      HealthStatus: "HEALTHY",
      ProtectedFromScaleIn: false,
    })),
  }));
  h.elbv2Mock.on(DescribeTargetHealthCommand).callsFake(async (input) => ({
    TargetHealthDescriptions: Object.entries(health)
      .filter(([id]) => !input.Targets || input.Targets.some((t: { Id: string }) => t.Id === id))
      .map(([id, state]) => ({ Target: { Id: id, Port: 8000 }, TargetHealth: { State: state } })),
  }));
  h.cloudwatchMock
    .on(DescribeAlarmsCommand)
    .resolves({ MetricAlarms: [{ AlarmName: ALARM.alarmName, StateValue: alarm }] });
}

/** Delivers the operation's next re-check, when it was scheduled for. */
const step = () => {
  h.advanceSeconds(h.rechecks.last()?.delaySeconds ?? 0);
  return advanceOperation(deps, operations.only().operationId);
};

/** The finest dimension set of each datum of the metric emitted so far. */
const counted = (name: string) =>
  h.metrics.filter((d) => d.name === name).map((d) => ({ ...d.dimensions, ...d.alsoBy }));

beforeEach(() => {
  h = gateHarness();
  operations = new InMemoryOperationStore();
  deps = { ...h.deps, operations, cloudwatch: h.cloudwatch };
  groupTargetGroups(h);
  sendCommandReturns(h, "cmd-1");
  h.autoScalingMock.on(SetInstanceHealthCommand).resolves({});
  world({ [SICK]: "unhealthy", [WELL]: "healthy" });
});

describe("startRemediation", () => {
  it("acts on the unhealthy instance only, logging every decision with its reason", async () => {
    const [plan] = await startRemediation(deps, ALARM);
    expect(plan?.decisions).toEqual([
      { instanceId: SICK, verdict: "act", reason: "unhealthy in its target group" },
    ]);
    expect(operations.only()).toMatchObject({
      kind: "remediate",
      alarmName: ALARM.alarmName,
      instanceIds: [SICK],
    });
    expect(h.logs.filter((l) => l.message.startsWith("remediation decision"))).toHaveLength(1);
  });

  it("refuses the last healthy instance, and counts the refusal by its class", async () => {
    // A group of one, whose instance an instance alarm names: not an outage, but the last one serving.
    world({ [WELL]: "healthy" }, "ALARM", { third: false });
    const [plan] = await startRemediation(deps, { ...ALARM, instanceIds: [WELL] });
    expect(plan?.decisions).toMatchObject([{ instanceId: WELL, verdict: "refuse", refusal: "last-healthy" }]);
    expect(operations.operations.size).toBe(0);
    expect(counted("RemediationRefusals")).toEqual([{ group: GROUP, reason: "last-healthy" }]);
  });

  it("does nothing in a shared outage (most targets unhealthy), saying so with the numbers", async () => {
    world({ [SICK]: "unhealthy", [WELL]: "unhealthy", [THIRD]: "healthy" });
    const [plan] = await startRemediation(deps, ALARM);
    expect(plan?.decisions).toEqual([
      expect.objectContaining({ instanceId: SICK, verdict: "refuse", refusal: "systemic" }),
      expect.objectContaining({ instanceId: WELL, verdict: "refuse", refusal: "systemic" }),
    ]);
    expect(plan?.decisions[0]?.reason).toBe(
      "systemic: 2 of 3 targets in cnt-backend-tg are unhealthy (67 %, threshold 50 %): a shared dependency is the likely cause, not the instances; no action",
    );
    expect(operations.operations.size).toBe(0);
    expect(counted("RemediationRefusals")).toEqual([
      { group: GROUP, reason: "systemic" },
      { group: GROUP, reason: "systemic" },
    ]);
  });

  it("does nothing when no target is healthy at all", async () => {
    world({ [SICK]: "unhealthy", [WELL]: "unhealthy", [THIRD]: "unhealthy" });
    const [plan] = await startRemediation(deps, ALARM);
    expect(plan?.decisions.every((d) => d.refusal === "systemic")).toBe(true);
    expect(plan?.decisions[0]?.reason).toContain("none healthy");
    expect(h.rechecks.scheduled).toEqual([]);
  });

  it("skips an alarm no group names", async () => {
    await expect(
      startRemediation(deps, { ...ALARM, alarmName: "someone-elses-alarm" }),
    ).rejects.toBeInstanceOf(SkipEventError);
  });

  it("dry run: decides and logs, acts on nothing", async () => {
    const group = RUNTIME_CONFIG.groups[0] as (typeof RUNTIME_CONFIG.groups)[number];
    deps = {
      ...deps,
      config: {
        ...RUNTIME_CONFIG,
        groups: [{ ...group, remediation: { ...group.remediation, dryRun: true } }],
      },
    };
    const [plan] = await startRemediation(deps, ALARM);
    expect(plan).toMatchObject({ dryRun: true, decisions: [{ instanceId: SICK, verdict: "act" }] });
    expect(operations.operations.size).toBe(0);
    expect(h.rechecks.scheduled).toEqual([]);
    expect(h.logs.some((l) => l.message === "remediation dry run: no action taken")).toBe(true);
  });
});

describe("the remediation ladder", () => {
  beforeEach(async () => {
    await startRemediation(deps, ALARM);
  });

  it("restarts the app (start phase) and succeeds once the instance is healthy again", async () => {
    await step();
    expect(h.ssmMock).toHaveReceivedCommandWith(SendCommandCommand, {
      InstanceIds: [SICK],
      Parameters: { phase: ["start"], trigger: ["remediate"] },
    });
    invocation(h, { status: "Success" });
    await step();
    world({ [SICK]: "healthy", [WELL]: "healthy" });
    h.advanceSeconds(90);
    await step();
    expect(operations.only()).toMatchObject({
      status: "succeeded",
      results: [{ instanceId: SICK, outcome: "succeeded", reason: "restarted; healthy in cnt-backend-tg" }],
    });
    expect(h.autoScalingMock).not.toHaveReceivedCommand(SetInstanceHealthCommand);
    expect(counted("RemediationActions")).toEqual([{ group: GROUP, action: "restart" }]);
    expect(counted("OperationsFinished")).toEqual([
      { group: GROUP, kind: "remediate", outcome: "succeeded" },
    ]);
  });

  it("restarts again when a restart does not help, then marks the instance Unhealthy for replacement", async () => {
    invocation(h, { status: "Success" });
    for (let attempt = 0; attempt < 2; attempt++) {
      await step(); // restart sent
      await step(); // command succeeded: verify
      h.advanceSeconds(301);
      await step(); // still unhealthy past the budget: next rung
    }
    await step();
    expect(h.ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 2);
    expect(h.autoScalingMock).toHaveReceivedCommandWith(SetInstanceHealthCommand, {
      InstanceId: SICK,
      HealthStatus: "Unhealthy",
      ShouldRespectGracePeriod: false,
    });
    expect(operations.only().results[0]).toMatchObject({
      outcome: "replaced",
      reason: "marked Unhealthy for replacement: 2 restart(s) in the last 60 min did not keep it healthy",
    });
    expect(counted("RemediationActions").map((d) => d.action)).toEqual(["restart", "restart", "replace"]);
  });

  it("stops short of acting when an outage began after the episode did", async () => {
    world({ [SICK]: "unhealthy", [WELL]: "unhealthy", [THIRD]: "unhealthy" });
    await step();
    expect(h.ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
    expect(operations.only().results[0]).toMatchObject({
      outcome: "skipped",
      reason: expect.stringMatching(/^systemic: 3 of 3/),
    });
    expect(operations.locks.has(SICK)).toBe(false);
  });

  it("replaces no more instances per hour than the group's budget", async () => {
    operations.replacements.set(GROUP, [h.now() - 600_000, h.now() - 300_000]);
    invocation(h, { status: "Success" });
    for (let attempt = 0; attempt < 2; attempt++) {
      await step();
      await step();
      h.advanceSeconds(301);
      await step();
    }
    await step();
    expect(h.autoScalingMock).not.toHaveReceivedCommand(SetInstanceHealthCommand);
    expect(operations.only().results[0]).toMatchObject({
      outcome: "skipped",
      reason: `replacement budget: ${GROUP} already had 2 replacement(s) in the last hour (maxReplacementsPerHour)`,
    });
    expect(counted("RemediationRefusals")).toEqual([{ group: GROUP, reason: "replacement-budget" }]);
  });

  it("a step retried after its restart was sent is not held back by its own cooldown", async () => {
    await step(); // restart sent and recorded for this operation
    const op = operations.only();
    // The save of the running step was lost (throttled): the same step runs again.
    operations.operations.set(op.operationId, { ...op, wave: [], index: 0 });
    await step();
    expect(operations.only().results).toEqual([]);
    expect(h.ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 2);
  });

  it("does nothing once the alarm has cleared", async () => {
    world({ [SICK]: "unhealthy", [WELL]: "healthy" }, "OK");
    await step();
    expect(operations.only().results[0]).toMatchObject({
      outcome: "skipped",
      reason: "alarm cnt-backend-unhealthy-hosts is no longer in ALARM: nothing to do",
    });
    expect(h.ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
  });

  it("a flapping alarm's new episode within the cooldown does not act again", async () => {
    await step();
    invocation(h, { status: "Success" });
    await step();
    world({ [SICK]: "healthy", [WELL]: "healthy" });
    h.advanceSeconds(90);
    await step();
    // It flaps: unhealthy again five minutes later, a new ALARM episode.
    world({ [SICK]: "unhealthy", [WELL]: "healthy" });
    h.advanceSeconds(300);
    const [plan] = await startRemediation(deps, ALARM);
    await advanceOperation(deps, plan?.operationId ?? "");
    expect((await operations.load(plan?.operationId ?? ""))?.results[0]).toMatchObject({
      outcome: "skipped",
      reason: expect.stringMatching(/^cooldown: acted on it \d+ s ago \(cooldown 15 min\)$/),
    });
    expect(h.ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);
  });
});

describe("remediation when AWS calls fail: an error is never read as a verdict on the instance", () => {
  beforeEach(async () => {
    await startRemediation(deps, ALARM);
  });

  it("SSM throttled while following a restart that worked: no further rung, no replacement; the instance is skipped with the error", async () => {
    await step(); // restart sent
    expect(h.ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    // The restart works: the app is healthy again. But GetCommandInvocation is throttled for minutes.
    world({ [SICK]: "healthy", [WELL]: "healthy" });
    h.ssmMock
      .on(GetCommandInvocationCommand)
      .rejects(Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" }));
    for (let i = 0; i < 40 && operations.only().status === "running"; i++) await step();
    const op = operations.only();
    expect(h.autoScalingMock).not.toHaveReceivedCommand(SetInstanceHealthCommand);
    expect(h.ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    expect(op.status).toBe("succeeded");
    expect(op.results).toMatchObject([
      {
        instanceId: SICK,
        outcome: "skipped",
        reason: expect.stringMatching(
          /^gave up on i-0aaaaaaaaaaaaaaa1 after \d+ error\(s\) in a row at its running step: ThrottlingException: Rate exceeded/,
        ),
      },
    ]);
  });

  it("a remediation whose alarm check keeps failing ends, skipping the instance with the error", async () => {
    h.cloudwatchMock
      .on(DescribeAlarmsCommand)
      .rejects(Object.assign(new Error("denied"), { name: "AccessDenied" }));
    for (let i = 0; i < 200 && operations.only().status === "running"; i++) await step();
    const op = operations.only();
    expect(op.status).toBe("succeeded");
    expect(op.results[0]?.reason).toMatch(
      /^gave up on i-0aaaaaaaaaaaaaaa1 after 8 error\(s\) in a row at its starting step: AccessDenied: denied/,
    );
    expect(h.ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
  });
});
