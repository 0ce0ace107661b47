import { beforeAll, describe, expect, it } from "vitest";
import type { ReferenceEnvironment } from "../../../infra/reference/index.js";
import { type Synthesized, synthesize } from "../synth.js";
import { propertiesOf, rulesOf, zonesOfSubnets } from "./synth-reference.js";

/**
 * Issue 13's acceptance list, read off the standalone app (the stack `cdk deploy` gets, gate included)
 * with every reference option on and a drain: the combination the per-construct tests do not build.
 */

const CERTIFICATE = "arn:aws:acm:eu-west-2:123456789012:certificate/11111111-2222-3333-4444-555555555555";
const DOCKER_HUB = "arn:aws:secretsmanager:eu-west-2:123456789012:secret:ecr-pullthroughcache/hub-AbCdEf";

let app: Synthesized;
let env: ReferenceEnvironment;
let id: (construct: { node: { defaultChild?: unknown } }) => string;
beforeAll(() => {
  app = synthesize({
    reference: {
      certificateArn: CERTIFICATE,
      dockerHubCredentialArn: DOCKER_HUB,
      warmPool: { minSize: 1 },
    },
    groups: [{ name: "cnt-backend-asg", targetGroups: ["cnt-backend-tg"], drain: { timeoutSeconds: 600 } }],
  });
  env = app.stack.node.findChild("Reference") as ReferenceEnvironment;
  id = (construct) => app.stack.getLogicalId(construct.node.defaultChild as never);
});

describe("issue 13 acceptance, everything on", () => {
  it("is cdk-nag clean", () => {
    expect(app.nagViolations).toEqual([]);
  });

  it("the ALB serves exactly the zones of the group's subnets", () => {
    const alb = propertiesOf(app.template, id(env.loadBalancer.loadBalancer));
    const group = propertiesOf(app.template, id(env.autoScalingGroup));
    expect(zonesOfSubnets(app.template, alb.Subnets)).toEqual(
      zonesOfSubnets(app.template, group.VPCZoneIdentifier),
    );
  });

  it("instances take only the app port, only from the ALB, and carry no other security group", () => {
    const instances = id(env.instances.securityGroup);
    const alb = id(env.loadBalancer.securityGroup);
    expect(rulesOf(app.template, instances, "ingress")).toEqual([
      { protocol: "tcp", from: 8000, to: 8000, peer: `sg:${alb}` },
    ]);
    expect(rulesOf(app.template, alb, "egress")).toEqual([
      { protocol: "tcp", from: 8000, to: 8000, peer: `sg:${instances}` },
    ]);
    const template = propertiesOf(app.template, id(env.instances.launchTemplate)).LaunchTemplateData as {
      NetworkInterfaces: { Groups: unknown[]; AssociatePublicIpAddress: boolean }[];
      SecurityGroupIds?: unknown;
    };
    expect(template.SecurityGroupIds).toBeUndefined();
    expect(template.NetworkInterfaces).toHaveLength(1);
    expect(template.NetworkInterfaces[0]?.Groups).toEqual([{ "Fn::GetAtt": [instances, "GroupId"] }]);
    expect(template.NetworkInterfaces[0]?.AssociatePublicIpAddress).toBe(false);
  });

  it("requires IMDSv2 within one hop: bridge-networked containers cannot reach the role's credentials", () => {
    const data = propertiesOf(app.template, id(env.instances.launchTemplate)).LaunchTemplateData as {
      MetadataOptions: unknown;
    };
    expect(data.MetadataOptions).toEqual({
      HttpEndpoint: "enabled",
      HttpTokens: "required",
      HttpPutResponseHopLimit: 1,
    });
  });

  it("the group waits for Redis, its name and the NAT routes, besides the gate", () => {
    const resources = app.template.toJSON().Resources as Record<string, { DependsOn?: string[] }>;
    const dependsOn = resources[id(env.autoScalingGroup)]?.DependsOn ?? [];
    const cfn = (construct: { node: { defaultChild?: unknown } }) =>
      app.stack.getLogicalId((construct.node.defaultChild ?? construct) as never);
    expect(dependsOn).toEqual(
      expect.arrayContaining([
        cfn(env.cache.replicationGroup),
        cfn(env.cache.record),
        ...env.vpc.privateSubnets.map((subnet) => cfn(subnet.node.findChild("DefaultRoute"))),
      ]),
    );
  });

  it("both hooks are inside the group's LifecycleHookSpecificationList, none beside it", () => {
    app.template.resourceCountIs("AWS::AutoScaling::LifecycleHook", 0);
    const group = propertiesOf(app.template, id(env.autoScalingGroup));
    expect(group.LifecycleHookSpecificationList).toEqual([
      {
        LifecycleHookName: "launchgate-launch",
        LifecycleTransition: "autoscaling:EC2_INSTANCE_LAUNCHING",
        DefaultResult: "ABANDON",
        HeartbeatTimeout: 600,
      },
      {
        LifecycleHookName: "launchgate-launch-drain",
        LifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING",
        DefaultResult: "CONTINUE",
        HeartbeatTimeout: 900,
      },
    ]);
  });

  it("scales by target tracking at 70 % average CPU, its only scaling policy", () => {
    const policies = Object.values(app.template.findResources("AWS::AutoScaling::ScalingPolicy"));
    expect(policies.map((policy) => policy.Properties)).toEqual([
      {
        AutoScalingGroupName: { Ref: id(env.autoScalingGroup) },
        PolicyType: "TargetTrackingScaling",
        TargetTrackingConfiguration: {
          PredefinedMetricSpecification: { PredefinedMetricType: "ASGAverageCPUUtilization" },
          TargetValue: 70,
        },
      },
    ]);
  });

  it("Redis is reachable only from the instances, and only on 6379", () => {
    const redis = id(env.cache.securityGroup);
    expect(rulesOf(app.template, redis, "ingress")).toEqual([
      { protocol: "tcp", from: 6379, to: 6379, peer: `sg:${id(env.instances.securityGroup)}` },
    ]);
    // No other security group lets anything else in: the replication group carries only this one.
    const group = propertiesOf(app.template, app.stack.getLogicalId(env.cache.replicationGroup));
    expect(group.SecurityGroupIds).toEqual([{ "Fn::GetAtt": [redis, "GroupId"] }]);
  });

  it("the deregistration delay covers the drain's limit", () => {
    const targetGroup = propertiesOf(app.template, id(env.targetGroup));
    expect(targetGroup.TargetGroupAttributes).toContainEqual({
      Key: "deregistration_delay.timeout_seconds",
      Value: "600",
    });
  });
});
