import { Validations } from "aws-cdk-lib";
import type { LaunchgateConfig } from "../shared/config/schema.js";
import type { LaunchGate } from "./constructs/launch-gate.js";

/**
 * Every cdk-nag finding we accept, each with its reason. Findings are acknowledged one by one (the exact
 * resource), never by rule: a new wildcard that nobody reasoned about still fails synth.
 */
export function acknowledgeNagFindings(gate: LaunchGate, config: LaunchgateConfig): void {
  const arn = (service: string, resource: string) =>
    `arn:<AWS::Partition>:${service}:${config.region}:${config.account ?? "<AWS::AccountId>"}:${resource}`;
  const iam5 = (resource: string, reason: string) => ({
    id: `AwsSolutions::AwsSolutions-IAM5[Resource::${resource}]`,
    reason,
  });

  const common = [
    iam5(
      "*",
      "Describe*/Get*/List* reads (DescribeAutoScalingInstances, DescribeInstanceInformation, GetCommandInvocation, ListCommands, DescribeTargetHealth, DescribeTargetGroups, DescribeLoadBalancers) support no resource-level permissions.",
    ),
    ...config.groups.map((group) =>
      iam5(
        arn("autoscaling", `autoScalingGroup:*:autoScalingGroupName/${group.name}`),
        "An Auto Scaling group ARN embeds a generated UUID; the group is pinned by name, the documented way to scope hook actions.",
      ),
    ),
    ...[...new Set(config.groups.flatMap((group) => group.targetGroups))].map((name) =>
      iam5(
        arn("elasticloadbalancing", `targetgroup/${name}/*`),
        "A target group ARN ends in a generated id; the wildcard only covers that suffix of the allow-listed name.",
      ),
    ),
  ];
  const functions = [
    gate.launchFunction,
    gate.resultFunction,
    gate.reconcileFunction,
    gate.rebootstrapFunction,
    gate.operationsFunction,
  ];
  for (const fn of [...functions, ...(gate.remediateFunction ? [gate.remediateFunction] : [])]) {
    Validations.of(fn).acknowledge(...common, {
      id: "AwsSolutions::AwsSolutions-L1",
      reason: "The runtime is pinned to nodejs22.x on purpose: the bundles are built and tested for Node 22.",
    });
  }
  for (const fn of [gate.launchFunction, gate.operationsFunction]) {
    Validations.of(fn).acknowledge(
      iam5(
        arn("ec2", "instance/*"),
        "SendCommand targets instances whose ids are unknown at deploy time; the statement is conditioned on ssm:resourceTag/aws:autoscaling:groupName being a gated group.",
      ),
    );
  }
}
