import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  DescribeAutoScalingGroupsCommand,
  DescribeLifecycleHooksCommand,
} from "@aws-sdk/client-auto-scaling";
import { DescribeStackResourcesCommand } from "@aws-sdk/client-cloudformation";
import { DescribeLaunchTemplateVersionsCommand } from "@aws-sdk/client-ec2";
import {
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { DescribeRuleCommand } from "@aws-sdk/client-eventbridge";
import { GetInstanceProfileCommand, SimulatePrincipalPolicyCommand } from "@aws-sdk/client-iam";
import { DescribeInstanceInformationCommand } from "@aws-sdk/client-ssm";
import { ROOT } from "../../scripts/functions.js";
import { CNT_TARGET_GROUP, groupDescription, LB_ARN_FOR_TESTS } from "../support/aws-stubs.js";
import { cliHarness } from "./cli-harness.js";

/** A deployment of the default config as `launchgate doctor` reads it from AWS (mocked), for doctor's tests. */

export const ROLE = "arn:aws:iam::123456789012:role/cnt-backend-instance";

/** IAM's resource matching: `*` is any run of characters (`:` and `/` included), `?` one character. */
function resourceMatches(pattern: string, arn: string): boolean {
  const regex = pattern
    .split("")
    .map((char) => (char === "*" ? ".*" : char === "?" ? "." : char.replace(/[.+^${}()|[\]\\/]/g, "\\$&")))
    .join("");
  return new RegExp(`^${regex}$`).test(arn);
}

export interface Statement {
  readonly Action: string | readonly string[];
  readonly Resource: string | readonly string[];
}

/** SimulatePrincipalPolicy over these Allow statements: allowed only when one covers every resource. */
export function simulating(statements: readonly Statement[]) {
  const list = (value: string | readonly string[]) => (typeof value === "string" ? [value] : value);
  return async (input: { ActionNames: string[]; ResourceArns?: string[] }) => {
    const action = input.ActionNames[0] ?? "";
    const allowed = (input.ResourceArns ?? ["*"]).every((arn) =>
      statements.some(
        (statement) =>
          list(statement.Action).includes(action) &&
          list(statement.Resource).some((pattern) => resourceMatches(pattern, arn)),
      ),
    );
    return {
      EvaluationResults: [{ EvalActionName: action, EvalDecision: allowed ? "allowed" : "implicitDeny" }],
    };
  };
}

/** The instance-role statements README.md gives for the bootstrap output (its only JSON block). */
export function readmeLogsStatements(): Statement[] {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## The bootstrap on the instance"));
  const block = /```json\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error("README: no policy under 'The bootstrap on the instance'");
  return JSON.parse(block) as Statement[];
}

export const SSM_CORE: Statement = {
  Action: ["ssm:UpdateInstanceInformation", "ssmmessages:CreateControlChannel", "ec2messages:GetMessages"],
  Resource: "*",
};

/**
 * The reference deployment, as AWS describes it, with an instance role holding `statements`. Its group
 * launches in `groupZones`: by default eu-west-2c too, which the load balancer does not enable.
 */
export function deployment(
  statements: readonly Statement[],
  groupZones: readonly string[] = ["eu-west-2a", "eu-west-2c"],
) {
  const harness = cliHarness();
  const { mocks } = harness;
  mocks.autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({
    AutoScalingGroups: [
      groupDescription([{ id: "i-0aaaaaaaaaaaaaaa1", state: "InService" }], {
        AvailabilityZones: [...groupZones],
        TargetGroupARNs: [CNT_TARGET_GROUP.TargetGroupArn ?? ""],
        LaunchTemplate: { LaunchTemplateName: "cnt-backend-launch-template", Version: "$Latest" },
      }),
    ],
  });
  mocks.autoScaling.on(DescribeLifecycleHooksCommand).resolves({
    LifecycleHooks: [
      {
        LifecycleHookName: "launchgate-launch",
        LifecycleTransition: "autoscaling:EC2_INSTANCE_LAUNCHING",
        DefaultResult: "ABANDON",
        HeartbeatTimeout: 600,
      },
    ],
  });
  mocks.elbv2.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [CNT_TARGET_GROUP] });
  mocks.elbv2.on(DescribeLoadBalancersCommand).resolves({
    LoadBalancers: [
      {
        LoadBalancerArn: LB_ARN_FOR_TESTS,
        LoadBalancerName: "cnt-alb",
        AvailabilityZones: [{ ZoneName: "eu-west-2a" }, { ZoneName: "eu-west-2b" }],
      },
    ],
  });
  mocks.cloudFormation.on(DescribeStackResourcesCommand).resolves({
    StackResources: [
      {
        LogicalResourceId: "Rule",
        PhysicalResourceId: "launchgate-rule-1",
        ResourceType: "AWS::Events::Rule",
        Timestamp: new Date(0),
        ResourceStatus: "CREATE_COMPLETE",
      },
    ],
  });
  mocks.eventBridge.on(DescribeRuleCommand).resolves({ Name: "launchgate-rule-1", State: "ENABLED" });
  mocks.ssm
    .on(DescribeInstanceInformationCommand)
    .resolves({ InstanceInformationList: [{ InstanceId: "i-0aaaaaaaaaaaaaaa1", PingStatus: "Online" }] });
  mocks.ec2.on(DescribeLaunchTemplateVersionsCommand).resolves({
    LaunchTemplateVersions: [
      {
        LaunchTemplateData: {
          IamInstanceProfile: { Arn: "arn:aws:iam::123456789012:instance-profile/cnt-backend-profile" },
        },
      },
    ],
  });
  mocks.iam.on(GetInstanceProfileCommand).resolves({
    InstanceProfile: {
      InstanceProfileName: "cnt-backend-profile",
      InstanceProfileId: "AIPA",
      Arn: "arn:aws:iam::123456789012:instance-profile/cnt-backend-profile",
      Path: "/",
      CreateDate: new Date(0),
      Roles: [
        { RoleName: "cnt-backend-instance", RoleId: "AROA", Arn: ROLE, Path: "/", CreateDate: new Date(0) },
      ],
    },
  });
  mocks.iam.on(SimulatePrincipalPolicyCommand).callsFake(simulating(statements));
  return harness;
}
