import type { Template } from "aws-cdk-lib/assertions";
import type { IConstruct } from "constructs";
import { beforeAll, describe, expect, it } from "vitest";
import type { ReferenceEnvironment } from "../../../infra/reference/index.js";
import { envOf, propertiesOf, synthesizeReference } from "./synth-reference.js";

describe("Redis", () => {
  let template: Template;
  let env: ReferenceEnvironment;
  let logicalId: (construct: IConstruct) => string;
  beforeAll(() => {
    const synthesized = synthesizeReference();
    ({ template, logicalId } = synthesized);
    env = envOf(synthesized);
  });

  it("is ElastiCache Redis 7.1 on one cache.t3.micro, encrypted at rest, in the instances' private subnets", () => {
    const redis = propertiesOf(template, logicalId(env.cache.replicationGroup));
    expect(redis).toMatchObject({
      Engine: "redis",
      EngineVersion: "7.1",
      CacheNodeType: "cache.t3.micro",
      NumCacheClusters: 1,
      Port: 6379,
      AtRestEncryptionEnabled: true,
      SecurityGroupIds: [{ "Fn::GetAtt": [logicalId(env.cache.securityGroup), "GroupId"] }],
    });
    const subnetGroup = Object.values(template.findResources("AWS::ElastiCache::SubnetGroup"));
    expect(subnetGroup).toHaveLength(1);
    const privateSubnets = env.vpc.privateSubnets.map((subnet) => ({ Ref: logicalId(subnet) }));
    expect(subnetGroup[0]?.Properties.SubnetIds).toEqual(privateSubnets);
  });

  it("is named redis.launchgate.internal in the VPC's private zone", () => {
    template.hasResourceProperties("AWS::Route53::HostedZone", { Name: "launchgate.internal." });
    template.hasResourceProperties("AWS::Route53::RecordSet", {
      Name: "redis.launchgate.internal.",
      Type: "CNAME",
      ResourceRecords: [{ "Fn::GetAtt": [logicalId(env.cache.replicationGroup), "PrimaryEndPoint.Address"] }],
    });
    expect(env.redisEndpoint).toBe("redis.launchgate.internal:6379");
  });
});
