import {
  type AutoScalingGroup,
  CompleteLifecycleActionCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeAutoScalingInstancesCommand,
  type DescribeAutoScalingInstancesCommandOutput,
  RecordLifecycleActionHeartbeatCommand,
} from "@aws-sdk/client-auto-scaling";
import {
  DeregisterTargetsCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  RegisterTargetsCommand,
  type TargetGroup,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  InvocationDoesNotExist,
  ListCommandsCommand,
  SendCommandCommand,
} from "@aws-sdk/client-ssm";
import { commandComment } from "../../shared/gate/bootstrap-command.js";
import { ADMIN_TG_ARN, type GateHarness, GROUP, INSTANCE_ID, LB_ARN, TG_ARN, TOKEN } from "./gate-harness.js";

/** Shapes AWS answers as the real APIs do (field names and nesting from the SDK's output types). */

export function lifecycleState(h: GateHarness, state: string | undefined, zone = "eu-west-2a"): void {
  h.autoScalingMock.on(DescribeAutoScalingInstancesCommand).resolves(lifecycleOutput(state, zone));
}

/** A DescribeAutoScalingInstances answer for the test instance in `state` (none when undefined). */
export function lifecycleOutput(
  state: string | undefined,
  zone = "eu-west-2a",
): DescribeAutoScalingInstancesCommandOutput {
  return {
    $metadata: {},
    AutoScalingInstances:
      state === undefined
        ? []
        : [
            {
              InstanceId: INSTANCE_ID,
              AutoScalingGroupName: GROUP,
              AvailabilityZone: zone,
              LifecycleState: state as never,
              HealthStatus: "HEALTHY",
              ProtectedFromScaleIn: false,
            },
          ],
  };
}

export function hookAcceptsCompletion(h: GateHarness): void {
  h.autoScalingMock.on(CompleteLifecycleActionCommand).resolves({});
  h.autoScalingMock.on(RecordLifecycleActionHeartbeatCommand).resolves({});
}

/** What Auto Scaling answers for a token that is no longer active (docs/aws-facts.md, lifecycle hooks). */
export function noActiveLifecycleAction(): Error {
  const error = new Error(`No active Lifecycle Action found with token ${TOKEN}`);
  error.name = "ValidationError";
  return error;
}

export function agentPing(h: GateHarness, status: "Online" | "ConnectionLost" | undefined): void {
  h.ssmMock.on(DescribeInstanceInformationCommand).resolves({
    InstanceInformationList: status ? [{ InstanceId: INSTANCE_ID, PingStatus: status }] : [],
  });
}

export function sendCommandReturns(h: GateHarness, commandId: string): void {
  h.ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: commandId, Status: "Pending" } });
}

/** ListCommands' answer for the test instance: these commands, newest first, as SSM lists them. */
export function commandsOnInstance(
  h: GateHarness,
  commands: readonly { id: string; comment: string; requestedAt?: number; status?: string }[],
): void {
  h.ssmMock.on(ListCommandsCommand).resolves({
    Commands: commands.map((command) => ({
      CommandId: command.id,
      Comment: command.comment,
      InstanceIds: [INSTANCE_ID],
      RequestedDateTime: new Date(command.requestedAt ?? 0),
      Status: (command.status ?? "InProgress") as never,
    })),
  });
}

export interface InvocationStub {
  status: "Success" | "Failed" | "TimedOut" | "Cancelled" | "InProgress";
  stdout?: string;
  stderr?: string;
  comment?: string;
}

export function invocation(h: GateHarness, stub: InvocationStub): void {
  h.ssmMock.on(GetCommandInvocationCommand).resolves({
    CommandId: "cmd",
    InstanceId: INSTANCE_ID,
    Status: stub.status,
    StatusDetails: stub.status,
    StandardOutputContent: stub.stdout ?? "",
    StandardErrorContent: stub.stderr ?? "",
    Comment: stub.comment ?? commandComment(TOKEN),
  });
}

export function invocationNotYetVisible(h: GateHarness): void {
  h.ssmMock
    .on(GetCommandInvocationCommand)
    .rejects(new InvocationDoesNotExist({ message: "InvocationDoesNotExist", $metadata: {} }));
}

export const LB_ARN_FOR_TESTS = LB_ARN;

export const CNT_TARGET_GROUP: TargetGroup = {
  TargetGroupArn: TG_ARN,
  TargetGroupName: "cnt-backend-tg",
  Protocol: "HTTP",
  Port: 8000,
  TargetType: "instance",
  HealthCheckProtocol: "HTTP",
  HealthCheckPort: "traffic-port",
  HealthCheckPath: "/health",
  HealthCheckIntervalSeconds: 30,
  HealthCheckTimeoutSeconds: 5,
  HealthyThresholdCount: 5,
  UnhealthyThresholdCount: 2,
  Matcher: { HttpCode: "200" },
  LoadBalancerArns: [LB_ARN],
};

export function groupTargetGroups(h: GateHarness, targetGroups: TargetGroup[] = [CNT_TARGET_GROUP]): void {
  h.autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({
    AutoScalingGroups: [
      {
        AutoScalingGroupName: GROUP,
        MinSize: 1,
        MaxSize: 3,
        DesiredCapacity: 1,
        DefaultCooldown: 300,
        AvailabilityZones: ["eu-west-2a", "eu-west-2b", "eu-west-2c"],
        HealthCheckType: "ELB",
        CreatedTime: new Date(0),
        TargetGroupARNs: targetGroups.map((tg) => tg.TargetGroupArn ?? ""),
      },
    ],
  });
  h.elbv2Mock.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: targetGroups });
  h.elbv2Mock.on(RegisterTargetsCommand).resolves({});
  h.elbv2Mock.on(DeregisterTargetsCommand).resolves({});
}

export function targetHealth(h: GateHarness, state: string, reason?: string, description?: string): void {
  h.elbv2Mock.on(DescribeTargetHealthCommand).resolves({
    TargetHealthDescriptions: [
      {
        Target: { Id: INSTANCE_ID, Port: 8000 },
        HealthCheckPort: "8000",
        TargetHealth: { State: state as never, Reason: reason as never, Description: description },
      },
    ],
  });
}

/**
 * DescribeTargetHealth's answer for one target group only (matched on TargetGroupArn), so a test can
 * give each attached group its own state.
 */
export function targetHealthIn(
  h: GateHarness,
  targetGroupArn: string,
  state: string,
  reason?: string,
  description?: string,
): void {
  h.elbv2Mock.on(DescribeTargetHealthCommand, { TargetGroupArn: targetGroupArn }).resolves({
    TargetHealthDescriptions: [
      {
        Target: { Id: INSTANCE_ID, Port: 8000 },
        HealthCheckPort: "8000",
        TargetHealth: { State: state as never, Reason: reason as never, Description: description },
      },
    ],
  });
}

/** A second allowed target group, behind the same load balancer, with a faster health check. */
export const ADMIN_TARGET_GROUP: TargetGroup = {
  ...CNT_TARGET_GROUP,
  TargetGroupArn: ADMIN_TG_ARN,
  TargetGroupName: "cnt-admin-tg",
  HealthCheckPath: "/admin/health",
  HealthCheckIntervalSeconds: 10,
  HealthyThresholdCount: 3,
};

/**
 * An error shaped as the SDK v3 throws a service's answer: `name` is the error code, `$fault` and
 * `$metadata` as the SDK sets them; `extra` adds fields such as `$retryable`.
 */
export function awsServiceError(
  name: string,
  message: string,
  fault: "client" | "server" = "client",
  status = fault === "server" ? 500 : 400,
  extra: Record<string, unknown> = {},
): Error {
  return Object.assign(new Error(message), {
    name,
    $fault: fault,
    $metadata: { httpStatusCode: status },
    ...extra,
  });
}

export function loadBalancerZones(h: GateHarness, zones: string[]): void {
  h.elbv2Mock.on(DescribeLoadBalancersCommand).resolves({
    LoadBalancers: [
      {
        LoadBalancerArn: LB_ARN,
        LoadBalancerName: "cnt-alb",
        AvailabilityZones: zones.map((ZoneName) => ({ ZoneName })),
      },
    ],
  });
}

/** A real-shaped Auto Scaling group description with these instances (tests add what they need). */
export function groupDescription(
  instances: readonly { id: string; state: string; zone?: string }[],
  extra: Partial<AutoScalingGroup> = {},
): AutoScalingGroup {
  return {
    AutoScalingGroupName: GROUP,
    MinSize: 1,
    MaxSize: 3,
    DesiredCapacity: instances.length,
    DefaultCooldown: 300,
    AvailabilityZones: ["eu-west-2a"],
    HealthCheckType: "ELB",
    CreatedTime: new Date(0),
    TargetGroupARNs: [TG_ARN],
    Instances: instances.map((i) => ({
      InstanceId: i.id,
      LifecycleState: i.state as never,
      AvailabilityZone: i.zone ?? "eu-west-2a",
      HealthStatus: "Healthy",
      ProtectedFromScaleIn: false,
    })),
    ...extra,
  };
}
