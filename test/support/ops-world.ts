import {
  type AutoScalingGroup,
  DescribeAutoScalingGroupsCommand,
  DescribeAutoScalingInstancesCommand,
  SetDesiredCapacityCommand,
} from "@aws-sdk/client-auto-scaling";
import {
  DeregisterTargetsCommand,
  DescribeTargetHealthCommand,
  RegisterTargetsCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { groupDescription, groupTargetGroups } from "./aws-stubs.js";
import { type GateHarness, GROUP } from "./gate-harness.js";

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
