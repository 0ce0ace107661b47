import {
  DescribeAutoScalingGroupsCommand,
  DescribeAutoScalingInstancesCommand,
  SetInstanceHealthCommand,
} from "@aws-sdk/client-auto-scaling";
import { DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import { DescribeTargetHealthCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import { GetCommandInvocationCommand, SendCommandCommand } from "@aws-sdk/client-ssm";
import { beforeEach, expect, it } from "vitest";

/** Remediation when AWS calls fail: an error is never read as a verdict on the instance. */
import type { AlarmEvent } from "../../../../shared/events/parse-alarm.js";
import { advanceOperation, type OpsDeps } from "../../../../shared/ops/advance-operation.js";
import { startRemediation } from "../../../../shared/ops/remediation/start-remediation.js";
import { groupDescription, groupTargetGroups, sendCommandReturns } from "../../../support/aws-stubs.js";
import { type GateHarness, GROUP, gateHarness } from "../../../support/gate-harness.js";
import { InMemoryOperationStore } from "../../../support/in-memory-operation-store.js";

const SICK = "i-0aaaaaaaaaaaaaaa1";
const WELL = "i-0bbbbbbbbbbbbbbb2";
const THIRD = "i-0ccccccccccccccc3";
const ALARM: AlarmEvent = {
  kind: "alarm",
  alarmName: "cnt-backend-unhealthy-hosts",
  reason: "x",
  instanceIds: [],
  targetGroupNames: ["cnt-backend-tg"],
};
let h: GateHarness;
let operations: InMemoryOperationStore;
let deps: OpsDeps;
let health: Record<string, string>;

beforeEach(async () => {
  h = gateHarness();
  operations = new InMemoryOperationStore();
  deps = { ...h.deps, operations, cloudwatch: h.cloudwatch };
  groupTargetGroups(h);
  sendCommandReturns(h, "cmd-1");
  h.autoScalingMock.on(SetInstanceHealthCommand).resolves({});
  health = { [SICK]: "unhealthy", [WELL]: "healthy", [THIRD]: "healthy" };
  h.autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({
    AutoScalingGroups: [groupDescription(Object.keys(health).map((id) => ({ id, state: "InService" })))],
  });
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
    .resolves({ MetricAlarms: [{ AlarmName: ALARM.alarmName, StateValue: "ALARM" }] });
  await startRemediation(deps, ALARM);
});
const step = () => {
  h.advanceSeconds(h.rechecks.last()?.delaySeconds ?? 0);
  return advanceOperation(deps, operations.only().operationId);
};

it("SSM throttled while following a restart that worked: no further rung, no replacement; the instance is skipped with the error", async () => {
  await step(); // restart sent
  expect(h.ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);
  // The restart works: the app is healthy again. But GetCommandInvocation is throttled for a few minutes.
  health[SICK] = "healthy";
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
