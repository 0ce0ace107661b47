import { Match } from "aws-cdk-lib/assertions";
import type { IConstruct } from "constructs";
import { beforeAll, describe, expect, it } from "vitest";
import { envOf, propertiesOf, type SynthesizedReference, synthesizeReference } from "./synth-reference.js";

describe("the gated group", () => {
  let s: SynthesizedReference;
  beforeAll(() => {
    s = synthesizeReference({
      reference: {},
      groups: [
        { name: "web-asg", hookName: "gate/launch", heartbeatTimeoutSeconds: 900, targetGroups: ["web-tg"] },
      ],
    });
  });

  it("carries the launch hook in its LifecycleHookSpecificationList, from groups[0]", () => {
    s.template.hasResourceProperties("AWS::AutoScaling::AutoScalingGroup", {
      AutoScalingGroupName: "web-asg",
      LifecycleHookSpecificationList: [
        {
          LifecycleHookName: "gate/launch",
          LifecycleTransition: "autoscaling:EC2_INSTANCE_LAUNCHING",
          DefaultResult: "ABANDON",
          HeartbeatTimeout: 900,
        },
      ],
    });
    s.template.resourceCountIs("AWS::AutoScaling::LifecycleHook", 0);
    expect(envOf(s).groupsWithHookInside).toEqual(new Set(["web-asg"]));
  });

  it("runs 1 to 3 instances, starting at 1, with ELB health checks, a 60 s warmup and the target group attached", () => {
    const group = propertiesOf(s.template, s.logicalId(envOf(s).autoScalingGroup));
    expect(group).toMatchObject({
      MinSize: "1",
      MaxSize: "3",
      HealthCheckType: "ELB",
      HealthCheckGracePeriod: 60,
      // Counted from InService, after the gate saw the instance healthy: only CPU has to settle.
      DefaultInstanceWarmup: 60,
      TargetGroupARNs: [{ Ref: s.logicalId(envOf(s).targetGroup) }],
    });
    // Unset, CloudFormation starts at MinSize and later deploys keep what scaling chose.
    expect(group.DesiredCapacity).toBeUndefined();
  });

  it("is created only after Redis, its DNS name, and the private subnets' routes to the internet", () => {
    const env = envOf(s);
    const resources = s.template.toJSON().Resources as Record<string, { DependsOn?: string[] }>;
    const dependsOn = resources[s.logicalId(env.autoScalingGroup)]?.DependsOn;
    const route = (subnet: IConstruct, id: string) => s.logicalId(subnet.node.findChild(id));
    expect([...(dependsOn ?? [])].sort()).toEqual(
      [
        s.logicalId(env.cache.replicationGroup),
        s.logicalId(env.cache.record),
        s.logicalId(env.vpc.node.findChild("IGW")),
        ...env.vpc.privateSubnets.flatMap((subnet) => [
          route(subnet, "DefaultRoute"),
          route(subnet, "RouteTableAssociation"),
        ]),
      ].sort(),
    );
    // The private subnets (both of them) route to the internet through the NAT gateway.
    expect(env.vpc.privateSubnets).toHaveLength(2);
    for (const subnet of env.vpc.privateSubnets) {
      expect(propertiesOf(s.template, route(subnet, "DefaultRoute"))).toMatchObject({
        DestinationCidrBlock: "0.0.0.0/0",
        NatGatewayId: { Ref: expect.stringMatching(/NATGateway/) },
      });
    }
  });

  it("scales by target tracking at 70 % average CPU", () => {
    s.template.resourceCountIs("AWS::AutoScaling::ScalingPolicy", 1);
    s.template.hasResourceProperties("AWS::AutoScaling::ScalingPolicy", {
      AutoScalingGroupName: { Ref: s.logicalId(envOf(s).autoScalingGroup) },
      PolicyType: "TargetTrackingScaling",
      TargetTrackingConfiguration: {
        PredefinedMetricSpecification: { PredefinedMetricType: "ASGAverageCPUUtilization" },
        TargetValue: 70,
      },
    });
  });
});

describe("the launch template", () => {
  let s: SynthesizedReference;
  beforeAll(() => {
    s = synthesizeReference();
  });

  it("requires IMDSv2 within one hop, so bridge-networked containers cannot take the role's credentials", () => {
    s.template.hasResourceProperties("AWS::EC2::LaunchTemplate", {
      LaunchTemplateData: Match.objectLike({
        MetadataOptions: { HttpEndpoint: "enabled", HttpTokens: "required", HttpPutResponseHopLimit: 1 },
      }),
    });
  });

  it("launches t3.large from the latest Amazon Linux 2023 (an SSM parameter, resolved at deploy), encrypted", () => {
    s.template.hasResourceProperties("AWS::EC2::LaunchTemplate", {
      LaunchTemplateData: Match.objectLike({
        InstanceType: "t3.large",
        ImageId: { Ref: Match.stringLikeRegexp("al2023") },
        BlockDeviceMappings: [Match.objectLike({ Ebs: Match.objectLike({ Encrypted: true }) })],
        IamInstanceProfile: Match.anyValue(),
        NetworkInterfaces: [Match.objectLike({ AssociatePublicIpAddress: false })],
      }),
    });
    s.template.hasParameter("*", {
      Type: "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
      Default: "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64",
    });
  });

  it("takes the arm64 image for a Graviton instance type", () => {
    synthesizeReference({ reference: { instanceType: "t4g.large" } }).template.hasParameter("*", {
      Default: "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-arm64",
    });
  });
});

describe("the warm pool", () => {
  it("keeps the configured number of prepared instances, running by default (the ≤ 60 s pool)", () => {
    const s = synthesizeReference({ reference: { warmPool: { minSize: 2 } } });
    expect(s.nagViolations).toEqual([]);
    s.template.hasResourceProperties("AWS::AutoScaling::WarmPool", {
      MinSize: 2,
      MaxGroupPreparedCapacity: 2,
      PoolState: "Running",
    });
  });

  it("holds exactly minSize instances whatever the desired capacity: MaxGroupPreparedCapacity = MinSize (unset, AWS keeps max − desired: 2 at desired 1)", () => {
    for (const minSize of [1, 2, 3]) {
      const s = synthesizeReference({ reference: { warmPool: { minSize } } });
      s.template.hasResourceProperties("AWS::AutoScaling::WarmPool", {
        MinSize: minSize,
        MaxGroupPreparedCapacity: minSize,
      });
    }
  });

  it("keeps its instances stopped when poolState is Stopped, with the launch template unchanged", () => {
    const running = synthesizeReference({ reference: { warmPool: { minSize: 1 } } });
    const stopped = synthesizeReference({ reference: { warmPool: { minSize: 1, poolState: "Stopped" } } });
    expect(stopped.nagViolations).toEqual([]);
    stopped.template.hasResourceProperties("AWS::AutoScaling::WarmPool", {
      MinSize: 1,
      MaxGroupPreparedCapacity: 1,
      PoolState: "Stopped",
    });
    // Neither state needs hibernation options nor anything else of the instances: the same template.
    const templateOf = (s: SynthesizedReference) =>
      Object.values(s.template.findResources("AWS::EC2::LaunchTemplate"))[0]?.Properties;
    expect(templateOf(stopped)).toEqual(templateOf(running));
    expect(JSON.stringify(templateOf(running))).not.toContain("HibernationOptions");
  });

  it("defaults to Running and refuses Hibernated (not offered: see docs/aws-facts.md, warm pools)", () => {
    synthesizeReference({ reference: { warmPool: {} } }).template.hasResourceProperties(
      "AWS::AutoScaling::WarmPool",
      { MinSize: 1, MaxGroupPreparedCapacity: 1, PoolState: "Running" },
    );
    expect(() => synthesizeReference({ reference: { warmPool: { poolState: "Hibernated" } } })).toThrow(
      /poolState/,
    );
  });

  it("is absent unless asked for", () => {
    synthesizeReference().template.resourceCountIs("AWS::AutoScaling::WarmPool", 0);
  });
});
