import {
  type AutoScalingGroup,
  DescribeAutoScalingGroupsCommand,
  DescribeLifecycleHooksCommand,
} from "@aws-sdk/client-auto-scaling";
import { DescribeStackResourcesCommand } from "@aws-sdk/client-cloudformation";
import { DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import { DescribeLaunchTemplateVersionsCommand } from "@aws-sdk/client-ec2";
import {
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { DescribeRuleCommand } from "@aws-sdk/client-eventbridge";
import { GetInstanceProfileCommand, SimulatePrincipalPolicyCommand } from "@aws-sdk/client-iam";
import { DescribeInstanceInformationCommand } from "@aws-sdk/client-ssm";
import { commandLogGroupNameFor } from "../../shared/config/runtime-config.js";
import type { GroupConfig } from "../../shared/config/schema.js";
import type { CliContext } from "../context.js";
import { explainAwsError } from "../errors.js";
import {
  commandOutputResources,
  type DoctorFacts,
  type Fact,
  SECRETS_ACTION,
  SIMULATED_ACTIONS,
} from "./doctor-checks.js";

/** Reads everything the checks look at, once; each read that fails becomes an explained `{ error }`. */
export async function gatherFacts(ctx: CliContext, group: GroupConfig): Promise<DoctorFacts> {
  const { autoScaling, elbv2, ssm } = ctx.clients;
  const asg = await fact(async () => {
    const { AutoScalingGroups } = await autoScaling.send(
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group.name] }),
    );
    const found = AutoScalingGroups?.[0];
    if (!found) throw new Error(`Auto Scaling group ${group.name} not found in ${ctx.config.region}`);
    return found;
  });
  const from = <T>(read: (g: AutoScalingGroup) => Promise<T> | T): Promise<Fact<T>> =>
    "error" in asg ? Promise.resolve(asg) : fact(async () => read(asg.value));

  const targetGroups = await from(async (g) => {
    if (!g.TargetGroupARNs?.length) return [];
    const { TargetGroups = [] } = await elbv2.send(
      new DescribeTargetGroupsCommand({ TargetGroupArns: g.TargetGroupARNs }),
    );
    return TargetGroups.map((tg) => ({
      name: tg.TargetGroupName ?? "",
      targetType: String(tg.TargetType ?? ""),
      loadBalancerArns: tg.LoadBalancerArns ?? [],
      intervalSeconds: tg.HealthCheckIntervalSeconds ?? 30,
      healthyThreshold: tg.HealthyThresholdCount ?? 5,
      timeoutSeconds: tg.HealthCheckTimeoutSeconds ?? 5,
      path: tg.HealthCheckPath ?? "/",
      matcher: tg.Matcher?.HttpCode ?? "200",
    }));
  });
  const instances = await from((g) =>
    (g.Instances ?? []).map((i) => ({ id: i.InstanceId ?? "", lifecycle: String(i.LifecycleState ?? "") })),
  );

  return {
    group,
    region: ctx.config.region,
    commandOutputLogGroup: commandLogGroupNameFor(ctx.config),
    hooks: await fact(async () => {
      const { LifecycleHooks = [] } = await autoScaling.send(
        new DescribeLifecycleHooksCommand({ AutoScalingGroupName: group.name }),
      );
      return LifecycleHooks.map((h) => ({
        name: h.LifecycleHookName ?? "",
        transition: h.LifecycleTransition ?? "",
        defaultResult: h.DefaultResult ?? "",
        heartbeatTimeout: h.HeartbeatTimeout ?? 0,
      }));
    }),
    groupZones: await from((g) => g.AvailabilityZones ?? []),
    instances,
    targetGroups,
    loadBalancers:
      "error" in targetGroups
        ? targetGroups
        : await fact(async () => {
            const arns = [...new Set(targetGroups.value.flatMap((tg) => tg.loadBalancerArns))];
            if (arns.length === 0) return [];
            const { LoadBalancers = [] } = await elbv2.send(
              new DescribeLoadBalancersCommand({ LoadBalancerArns: arns }),
            );
            return LoadBalancers.map((lb) => ({
              arn: lb.LoadBalancerArn ?? "",
              name: lb.LoadBalancerName ?? "",
              zones: (lb.AvailabilityZones ?? []).map((z) => z.ZoneName ?? ""),
            }));
          }),
    rules: await fact(() => stackRules(ctx)),
    agentsOnline:
      "error" in instances
        ? instances
        : await fact(async () => {
            const ids = instances.value.map((i) => i.id);
            if (ids.length === 0) return [];
            const { InstanceInformationList = [] } = await ssm.send(
              new DescribeInstanceInformationCommand({ Filters: [{ Key: "InstanceIds", Values: ids }] }),
            );
            return InstanceInformationList.filter((i) => i.PingStatus === "Online").map(
              (i) => i.InstanceId ?? "",
            );
          }),
    alarms: await fact(async () => {
      const names = group.remediation.alarms;
      if (names.length === 0) return [];
      const { MetricAlarms = [], CompositeAlarms = [] } = await ctx.clients.cloudwatch.send(
        new DescribeAlarmsCommand({ AlarmNames: [...names] }),
      );
      const found = new Set([...MetricAlarms, ...CompositeAlarms].map((alarm) => alarm.AlarmName));
      return names.map((name) => ({ name, exists: found.has(name) }));
    }),
    instanceRole: "error" in asg ? asg : await fact(() => simulateInstanceRole(ctx, asg.value, group)),
  };
}

async function fact<T>(read: () => Promise<T>): Promise<Fact<T>> {
  try {
    return { value: await read() };
  } catch (error) {
    return { error: explainAwsError(error) };
  }
}

async function stackRules(ctx: CliContext): Promise<{ name: string; state: string }[]> {
  const { StackResources = [] } = await ctx.clients.cloudFormation.send(
    new DescribeStackResourcesCommand({ StackName: ctx.config.stackName }),
  );
  const names = StackResources.filter((r) => r.ResourceType === "AWS::Events::Rule").map(
    (r) => r.PhysicalResourceId ?? "",
  );
  return Promise.all(
    names.map(async (name) => {
      const rule = await ctx.clients.eventBridge.send(new DescribeRuleCommand({ Name: name }));
      return { name, state: String(rule.State ?? "") };
    }),
  );
}

/**
 * Asks IAM whether the group's instance role may do what the SSM agent and the bootstrap need:
 * launch template → instance profile → role → SimulatePrincipalPolicy (covers managed and inline
 * policies alike). An action counts as allowed only when it is allowed on every resource it is
 * simulated against.
 */
async function simulateInstanceRole(ctx: CliContext, asg: AutoScalingGroup, group: GroupConfig) {
  const spec = asg.LaunchTemplate ?? asg.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification;
  if (!spec)
    throw new Error(`${group.name} has no launch template (launch configurations are not inspected)`);
  const { LaunchTemplateVersions = [] } = await ctx.clients.ec2.send(
    new DescribeLaunchTemplateVersionsCommand({
      LaunchTemplateId: spec.LaunchTemplateId,
      LaunchTemplateName: spec.LaunchTemplateId ? undefined : spec.LaunchTemplateName,
      Versions: [spec.Version ?? "$Default"],
    }),
  );
  const profile = LaunchTemplateVersions[0]?.LaunchTemplateData?.IamInstanceProfile;
  const profileName = profile?.Name ?? profile?.Arn?.split("/").at(-1);
  if (!profileName)
    throw new Error(
      "the launch template sets no instance profile: give it one with the SSM agent's permissions (ssmAgentPolicyStatements(), or AmazonSSMManagedInstanceCore)",
    );
  const { InstanceProfile } = await ctx.clients.iam.send(
    new GetInstanceProfileCommand({ InstanceProfileName: profileName }),
  );
  const roleArn = InstanceProfile?.Roles?.[0]?.Arn;
  if (!roleArn) throw new Error(`instance profile ${profileName} has no role`);
  const account = roleArn.split(":")[4] ?? "";
  const parameterArn = `arn:aws:ssm:${ctx.config.region}:${account}:parameter${group.app.secretsParameterPath}`;
  const logs = commandOutputResources(ctx.config.region, account, commandLogGroupNameFor(ctx.config));
  const resourcesOf = (action: string) =>
    action === SECRETS_ACTION ? [parameterArn] : (logs[action] ?? ["*"]);
  const allowed: Record<string, boolean> = {};
  for (const action of SIMULATED_ACTIONS) {
    let all = true;
    for (const resource of resourcesOf(action)) {
      const { EvaluationResults = [] } = await ctx.clients.iam.send(
        new SimulatePrincipalPolicyCommand({
          PolicySourceArn: roleArn,
          ActionNames: [action],
          ResourceArns: [resource],
        }),
      );
      all &&= EvaluationResults[0]?.EvalDecision === "allowed";
    }
    allowed[action] = all;
  }
  return { roleArn, allowed };
}
