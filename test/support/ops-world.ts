import {
  type AutoScalingGroup,
  DescribeAutoScalingGroupsCommand,
  DescribeAutoScalingInstancesCommand,
  SetDesiredCapacityCommand,
} from "@aws-sdk/client-auto-scaling";
import {
  DeregisterTargetsCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  RegisterTargetsCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { GetCommandInvocationCommand, SendCommandCommand } from "@aws-sdk/client-ssm";
import type { OpsDeps } from "../../shared/ops/advance-operation.js";
import {
  ADMIN_TARGET_GROUP,
  CNT_TARGET_GROUP,
  groupDescription,
  groupTargetGroups,
  hookAcceptsCompletion,
} from "./aws-stubs.js";
import { ADMIN_TG_ARN, type GateHarness, GROUP, gateHarness, TG_ARN } from "./gate-harness.js";
import { InMemoryOperationStore } from "./in-memory-operation-store.js";

/** The AWS an operation (re-bootstrap, rollout) sees in unit tests: its group and its load balancer. */

/**
 * The load balancer's view of each instance in the group's target group, returned for the test to
 * change: DescribeTargetHealth answers from it, DeregisterTargets starts a drain and RegisterTargets a
 * fresh `initial` registration.
 */
export function loadBalancerStub(h: GateHarness, initial: Record<string, string>): Map<string, string> {
  const lb = new Map(Object.entries(initial));
  h.elbv2Mock.on(DescribeTargetHealthCommand).callsFake(async (input) => ({
    TargetHealthDescriptions: [...lb]
      .filter(([id]) => !input.Targets || input.Targets.some((t: { Id: string }) => t.Id === id))
      .map(([id, state]) => ({ Target: { Id: id, Port: 8000 }, TargetHealth: { State: state } })),
  }));
  h.elbv2Mock.on(DeregisterTargetsCommand).callsFake(async (input) => {
    for (const target of input.Targets ?? []) lb.set(target.Id, "draining");
    return {};
  });
  h.elbv2Mock.on(RegisterTargetsCommand).callsFake(async (input) => {
    for (const target of input.Targets ?? []) lb.set(target.Id, "initial");
    return {};
  });
  return lb;
}

/** Where each instance is, as Auto Scaling would answer for it and for its group. */
export function instancesStub(
  h: GateHarness,
  states: Record<string, { state: string; group?: string }>,
  group: Partial<AutoScalingGroup> = { DesiredCapacity: 3 },
): void {
  h.autoScalingMock.on(DescribeAutoScalingInstancesCommand).callsFake(async (input) => ({
    AutoScalingInstances: (input.InstanceIds ?? [])
      .filter((id: string) => states[id])
      .map((id: string) => ({
        InstanceId: id,
        AutoScalingGroupName: states[id]?.group ?? GROUP,
        AvailabilityZone: "eu-west-2a",
        LifecycleState: states[id]?.state,
        HealthStatus: "HEALTHY",
        ProtectedFromScaleIn: false,
      })),
  }));
  groupTargetGroups(h);
  const members = Object.entries(states)
    .filter(([, s]) => (s.group ?? GROUP) === GROUP)
    .map(([id, s]) => ({ id, state: s.state }));
  h.autoScalingMock
    .on(DescribeAutoScalingGroupsCommand)
    .resolves({ AutoScalingGroups: [groupDescription(members, group)] });
  h.autoScalingMock.on(SetDesiredCapacityCommand).resolves({});
}

/** A rollout over the test group's instances (phase start), `batch` at a time when given. */
export const rolloutRequest = (batch?: { count: number } | { percent: number }) => ({
  kind: "group" as const,
  groupName: GROUP,
  phase: "start" as const,
  dryRun: false,
  wait: false,
  surge: false,
  force: false,
  ...(batch ? { batch } : {}),
});

/** A gate harness with an in-memory operations store: what an operation's steps run against. */
export function opsHarness(config?: Parameters<typeof gateHarness>[0]) {
  const h = gateHarness(config);
  const operations = new InMemoryOperationStore();
  const deps: OpsDeps = { ...h.deps, operations, cloudwatch: h.cloudwatch };
  hookAcceptsCompletion(h);
  return { h, operations, deps };
}

/**
 * Each instance's bootstrap command, returned for the test to change: SendCommand starts one
 * (`InProgress`, id `cmd-<instance>`), GetCommandInvocation reports its status from the map.
 */
export function commandsStub(h: GateHarness, stderr = ""): Map<string, string> {
  const commands = new Map<string, string>();
  h.ssmMock.on(SendCommandCommand).callsFake(async (input) => {
    const instanceId = input.InstanceIds?.[0] ?? "";
    commands.set(instanceId, "InProgress");
    return { Command: { CommandId: `cmd-${instanceId}`, Status: "Pending" } };
  });
  h.ssmMock.on(GetCommandInvocationCommand).callsFake(async (input) => ({
    CommandId: input.CommandId,
    InstanceId: input.InstanceId,
    Status: commands.get(input.InstanceId ?? "") ?? "InProgress",
    StatusDetails: commands.get(input.InstanceId ?? "") ?? "InProgress",
    StandardOutputContent: "",
    StandardErrorContent: stderr,
  }));
  return commands;
}

/**
 * The group attached to both test target groups (cnt-backend-tg, cnt-admin-tg), each target's state
 * per target group read from `health` and changed by DeregisterTargets (`draining`) and RegisterTargets
 * (`initial`); `refuseDeregisterIn` names a target group whose deregistrations are denied.
 */
export function twoTargetGroupsStub(
  h: GateHarness,
  health: Record<string, Record<string, string>>,
  refuseDeregisterIn?: string,
): void {
  const ids = Object.keys(health[TG_ARN] ?? {});
  h.autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({
    AutoScalingGroups: [
      groupDescription(
        ids.map((id) => ({ id, state: "InService" })),
        { TargetGroupARNs: [TG_ARN, ADMIN_TG_ARN] },
      ),
    ],
  });
  h.elbv2Mock
    .on(DescribeTargetGroupsCommand)
    .resolves({ TargetGroups: [CNT_TARGET_GROUP, ADMIN_TARGET_GROUP] });
  h.elbv2Mock.on(DescribeTargetHealthCommand).callsFake(async (input) => ({
    TargetHealthDescriptions: Object.entries(health[input.TargetGroupArn ?? ""] ?? {})
      .filter(([id]) => !input.Targets || input.Targets.some((t: { Id: string }) => t.Id === id))
      .map(([id, state]) => ({ Target: { Id: id, Port: 8000 }, TargetHealth: { State: state } })),
  }));
  const setAll = (
    arn: string | undefined,
    targets: readonly { Id?: string }[] | undefined,
    state: string,
  ) => {
    const states = health[arn ?? ""];
    for (const target of targets ?? []) if (states && target.Id) states[target.Id] = state;
  };
  h.elbv2Mock.on(DeregisterTargetsCommand).callsFake(async (input) => {
    if (input.TargetGroupArn === refuseDeregisterIn)
      throw Object.assign(new Error("not authorized to DeregisterTargets"), { name: "AccessDenied" });
    setAll(input.TargetGroupArn, input.Targets, "draining");
    return {};
  });
  h.elbv2Mock.on(RegisterTargetsCommand).callsFake(async (input) => {
    setAll(input.TargetGroupArn, input.Targets, "initial");
    return {};
  });
}
