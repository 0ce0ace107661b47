import type { Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import {
  propertiesOf,
  type SynthesizedReference,
  synthesizeReference,
  zonesOfSubnets,
} from "./synth-reference.js";

let synthesized: SynthesizedReference;
let template: Template;
beforeAll(() => {
  synthesized = synthesizeReference();
  template = synthesized.template;
});

describe("zones", () => {
  it("the ALB is enabled in exactly the zones of the group's subnets, at least two", () => {
    const env = synthesized.env;
    if (!env) throw new Error("no reference environment");
    const alb = propertiesOf(template, synthesized.logicalId(env.loadBalancer.loadBalancer));
    const group = propertiesOf(template, synthesized.logicalId(env.autoScalingGroup));
    const albZones = zonesOfSubnets(template, alb.Subnets);
    const groupZones = zonesOfSubnets(template, group.VPCZoneIdentifier);
    expect(albZones).toEqual(groupZones);
    expect(new Set(groupZones).size).toBe(groupZones.length);
    expect(groupZones.length).toBeGreaterThanOrEqual(2);
  });

  it("the ALB is internet-facing in public subnets; the instances are in private ones", () => {
    const env = synthesized.env;
    if (!env) throw new Error("no reference environment");
    const publicIds = env.vpc.publicSubnets.map((subnet) => synthesized.logicalId(subnet));
    const privateIds = env.vpc.privateSubnets.map((subnet) => synthesized.logicalId(subnet));
    const alb = propertiesOf(template, synthesized.logicalId(env.loadBalancer.loadBalancer));
    const group = propertiesOf(template, synthesized.logicalId(env.autoScalingGroup));
    expect(alb.Scheme).toBe("internet-facing");
    expect((alb.Subnets as { Ref: string }[]).map((s) => s.Ref).sort()).toEqual([...publicIds].sort());
    expect((group.VPCZoneIdentifier as { Ref: string }[]).map((s) => s.Ref).sort()).toEqual(
      [...privateIds].sort(),
    );
  });
});

describe("egress", () => {
  it("goes through one NAT gateway, with the free S3 gateway endpoint beside it", () => {
    template.resourceCountIs("AWS::EC2::NatGateway", 1);
    template.hasResourceProperties("AWS::EC2::VPCEndpoint", { VpcEndpointType: "Gateway" });
    template.resourceCountIs("AWS::EC2::VPCEndpoint", 1);
  });

  it("rejected flows are logged", () => {
    template.hasResourceProperties("AWS::EC2::FlowLog", { TrafficType: "REJECT" });
  });
});
