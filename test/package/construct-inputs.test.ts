import { App, Stack, type StackProps } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import * as autoscaling from "aws-cdk-lib/aws-autoscaling";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { beforeAll, describe, expect, it } from "vitest";
import { type LaunchGateConfigInput, resolveGateInputs } from "../../infra/constructs/gate-inputs.js";
import { LaunchGate } from "../../infra/index.js";
import { ConfigError, parseConfig } from "../../shared/config/parse-config.js";

/**
 * The construct as a library user calls it: config props checked like the standalone app's file, and
 * the app's own group and target group constructs where the config names groups and target groups.
 */

interface Fixture {
  readonly app: App;
  readonly stack: Stack;
  readonly group: autoscaling.AutoScalingGroup;
  readonly targetGroup: elbv2.ApplicationTargetGroup;
}

function fixture(
  props: StackProps = { env: { region: "eu-west-1" } },
  names: { group?: string; targetGroup?: string } = {},
): Fixture {
  // The built-in CloudFormation linter costs seconds per synth; these tests read the template.
  const app = new App({ builtinCloudFormationValidation: false });
  const stack = new Stack(app, "Consumer", props);
  const vpc = new ec2.Vpc(stack, "Vpc", { maxAzs: 2, natGateways: 0 });
  const group = new autoscaling.AutoScalingGroup(stack, "Web", {
    vpc,
    autoScalingGroupName: names.group,
    launchTemplate: new ec2.LaunchTemplate(stack, "Template", {
      instanceType: new ec2.InstanceType("t4g.small"),
      machineImage: ec2.MachineImage.latestAmazonLinux2023({ cpuType: ec2.AmazonLinuxCpuType.ARM_64 }),
    }),
  });
  const targetGroup = new elbv2.ApplicationTargetGroup(stack, "WebTargets", {
    vpc,
    port: 80,
    targetGroupName: names.targetGroup,
    targetType: elbv2.TargetType.INSTANCE,
    targets: [group],
  });
  return { app, stack, group, targetGroup };
}

/** Stand-in code: these tests read the template, not the bundles. */
const code = () => lambda.Code.fromInline("export const handler = async () => {};");

const logicalId = (stack: Stack, construct: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(construct.node.defaultChild as never);

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("no ConfigError");
}

describe("a group and target group of the same app", () => {
  let stack: Stack;
  let gate: LaunchGate;
  let template: Template;
  let groupId: string;
  let targetGroupId: string;
  beforeAll(() => {
    const made = fixture();
    stack = made.stack;
    gate = new LaunchGate(stack, "Gate", {
      code,
      config: {
        groups: [{ name: made.group, targetGroups: [made.targetGroup], heartbeatTimeoutSeconds: 900 }],
      },
    });
    template = Template.fromStack(stack);
    groupId = logicalId(stack, made.group);
    targetGroupId = logicalId(stack, made.targetGroup);
  });

  it("get the hook inside the group resource, no separate hook resource", () => {
    template.resourceCountIs("AWS::AutoScaling::LifecycleHook", 0);
    template.hasResourceProperties("AWS::AutoScaling::AutoScalingGroup", {
      LifecycleHookSpecificationList: [
        {
          LifecycleHookName: "launchgate-launch",
          LifecycleTransition: "autoscaling:EC2_INSTANCE_LAUNCHING",
          DefaultResult: "ABANDON",
          HeartbeatTimeout: 900,
        },
      ],
    });
    expect(gate.groups.map((g) => g.node.id)).toEqual(["Group-Web"]);
  });

  it("are named by their tokens everywhere the config's names go", () => {
    template.hasResourceProperties("AWS::Events::Rule", {
      EventPattern: { detail: { AutoScalingGroupName: [{ Ref: groupId }] } },
    });
    const statements = Object.values(template.findResources("AWS::IAM::Policy")).flatMap(
      (policy) => policy.Properties.PolicyDocument.Statement as { Sid: string; Resource: unknown }[],
    );
    const register = statements.filter((s) => s.Sid === "RegisterWithAllowedTargetGroups");
    expect(register.length).toBeGreaterThan(0);
    for (const statement of register) expect(statement.Resource).toEqual({ Ref: targetGroupId });
    const complete = statements.filter((s) => s.Sid === "CompleteOwnHooks");
    for (const statement of complete)
      expect(JSON.stringify(statement.Resource)).toContain(`{"Ref":"${groupId}"}`);
    const launch = Object.values(template.findResources("AWS::Lambda::Function")).find((fn) =>
      String(fn.Properties.Description).includes("opens the gate"),
    );
    const runtime = JSON.stringify(launch?.Properties.Environment.Variables.LAUNCHGATE_RUNTIME);
    expect(runtime).toContain(`{"Ref":"${groupId}"}`);
    expect(runtime).toContain(`{"Fn::GetAtt":["${targetGroupId}","TargetGroupName"]}`);
  });

  it("name the document after the stack by default, with the group's name resolved at deploy", () => {
    const documents = Object.values(template.findResources("AWS::SSM::Document"));
    expect(documents).toHaveLength(1);
    expect(documents[0]?.Properties.Name).toEqual({
      "Fn::Join": ["", ["Consumer-", { Ref: groupId }, "-bootstrap"]],
    });
  });
});

describe("constructs with names the app set", () => {
  it("use those names as given, like names in the config", () => {
    const { stack, group, targetGroup } = fixture(undefined, { group: "web-asg", targetGroup: "web-tg" });
    const gate = new LaunchGate(stack, "Gate", {
      code,
      config: { groups: [{ name: group, targetGroups: [targetGroup] }] },
    });
    const template = Template.fromStack(stack);
    expect(gate.groups.map((g) => g.node.id)).toEqual(["Group-web-asg"]);
    template.resourceCountIs("AWS::AutoScaling::LifecycleHook", 0);
    template.hasResourceProperties("AWS::Events::Rule", {
      EventPattern: { detail: { AutoScalingGroupName: ["web-asg"] } },
    });
    template.hasResourceProperties("AWS::SSM::Document", { Name: "Consumer-web-asg-bootstrap" });
  });

  it("an imported group (not created by this app) gets a hook resource of its own", () => {
    const { stack } = fixture();
    const imported = autoscaling.AutoScalingGroup.fromAutoScalingGroupName(stack, "Existing", "legacy-asg");
    new LaunchGate(stack, "Gate", {
      code,
      config: { groups: [{ name: imported, targetGroups: ["legacy-tg"] }] },
    });
    Template.fromStack(stack).hasResourceProperties("AWS::AutoScaling::LifecycleHook", {
      AutoScalingGroupName: "legacy-asg",
      LifecycleHookName: "launchgate-launch",
    });
  });
});

describe("names, as the standalone app takes them", () => {
  it("keep a hook resource per existing group, scoped by name", () => {
    const { stack } = fixture();
    new LaunchGate(stack, "Gate", {
      code,
      config: { groups: [{ name: "existing-asg", targetGroups: ["existing-tg"] }] },
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties("AWS::AutoScaling::LifecycleHook", {
      AutoScalingGroupName: "existing-asg",
    });
    // The app's own group, not named in the config, is left alone.
    for (const group of Object.values(template.findResources("AWS::AutoScaling::AutoScalingGroup"))) {
      expect(group.Properties.LifecycleHookSpecificationList).toBeUndefined();
    }
  });
});

describe("validation at synth", () => {
  it("reports each problem with the standalone app's per-field message, constructs included", () => {
    const { stack, group, targetGroup } = fixture();
    const bad = { heartbeatTimeoutSeconds: 20, app: { healthCheckUrl: "http://example.com/" } };
    const error = configError(
      () =>
        new LaunchGate(stack, "Gate", {
          code,
          config: {
            logRetentionDays: 2 as never,
            groups: [{ name: group, targetGroups: [targetGroup], ...bad }],
          },
        }),
    );
    const standalone = configError(() =>
      parseConfig({
        region: "eu-west-1",
        logRetentionDays: 2,
        groups: [{ name: "web", targetGroups: ["web-tg"], ...bad }],
      }),
    );
    expect(error.problems).toEqual(standalone.problems);
    expect(error.problems.length).toBe(3);
    expect(error.message).toContain("invalid launchgate config (props of Consumer/Gate)");
  });

  it("refuses the same group twice, even as a construct", () => {
    const { stack, group, targetGroup } = fixture();
    const error = configError(
      () =>
        new LaunchGate(stack, "Gate", {
          code,
          config: {
            groups: [
              { name: group, targetGroups: [targetGroup] },
              { name: group, targetGroups: [targetGroup] },
            ],
          },
        }),
    );
    expect(error.problems).toEqual([expect.stringMatching(/^groups\[1\]: .*each group name only once/)]);
  });

  it("needs groups: the built-in default gates cnt-backend's group, never a library user's", () => {
    const { stack } = fixture();
    const error = configError(
      () =>
        new LaunchGate(stack, "Gate", {
          code,
          config: {} as LaunchGateConfigInput,
        }),
    );
    expect(error.problems).toEqual([expect.stringMatching(/^groups: is required/)]);
  });

  it("refuses a config that is not an object, as the standalone app refuses such a file", () => {
    const { stack } = fixture();
    for (const [index, config] of [null, [], "groups"].entries()) {
      expect(() => new LaunchGate(stack, `Gate${index}`, { code, config: config as never })).toThrow(
        ConfigError,
      );
    }
  });

  it("takes region and stackName from the stack, and refuses a region the stack does not deploy to", () => {
    const { stack, group, targetGroup } = fixture();
    const inputs = resolveGateInputs(stack, { groups: [{ name: group, targetGroups: [targetGroup] }] });
    expect(inputs.config.region).toBe("eu-west-1");
    expect(inputs.config.stackName).toBe("Consumer");
    const error = configError(() =>
      resolveGateInputs(stack, { region: "us-east-1", groups: [{ name: "a", targetGroups: ["b"] }] }),
    );
    expect(error.problems).toEqual(['region: got "us-east-1"; allowed: the stack\'s region, eu-west-1']);
  });

  it("needs a region in the config when the stack is environment-agnostic (the bootstrap names it)", () => {
    const { stack } = fixture({});
    const error = configError(() =>
      resolveGateInputs(stack, { groups: [{ name: "a", targetGroups: ["b"] }] }),
    );
    expect(error.problems).toEqual([
      expect.stringMatching(/^region: is required when the stack has no region/),
    ]);
    expect(
      resolveGateInputs(stack, { region: "eu-west-2", groups: [{ name: "a", targetGroups: ["b"] }] }).config
        .region,
    ).toBe("eu-west-2");
  });
});
