import { Match } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { envOf, rulesOf, type SynthesizedReference, synthesizeReference } from "./synth-reference.js";

const CERTIFICATE = "arn:aws:acm:eu-west-2:123456789012:certificate/11111111-2222-3333-4444-555555555555";

describe("security groups", () => {
  let s: SynthesizedReference;
  let alb: string;
  let instances: string;
  let redis: string;
  beforeAll(() => {
    s = synthesizeReference();
    alb = s.logicalId(envOf(s).loadBalancer.securityGroup);
    instances = s.logicalId(envOf(s).instances.securityGroup);
    redis = s.logicalId(envOf(s).cache.securityGroup);
  });

  it("instances: ingress only from the ALB's group, on the app port", () => {
    expect(rulesOf(s.template, instances, "ingress")).toEqual([
      { protocol: "tcp", from: 8000, to: 8000, peer: `sg:${alb}` },
    ]);
  });

  it("Redis: ingress only from the instances' group, on 6379; no egress", () => {
    expect(rulesOf(s.template, redis, "ingress")).toEqual([
      { protocol: "tcp", from: 6379, to: 6379, peer: `sg:${instances}` },
    ]);
    // CDK's "no egress" marker rule: nothing can match it.
    expect(rulesOf(s.template, redis, "egress")).toEqual([
      { protocol: "icmp", from: 252, to: 86, peer: "255.255.255.255/32" },
    ]);
  });

  it("ALB: HTTP from anywhere; egress only to the instances on the app port", () => {
    expect(rulesOf(s.template, alb, "ingress")).toEqual([
      { protocol: "tcp", from: 80, to: 80, peer: "0.0.0.0/0" },
    ]);
    expect(rulesOf(s.template, alb, "egress")).toEqual([
      { protocol: "tcp", from: 8000, to: 8000, peer: `sg:${instances}` },
    ]);
  });

  it("ALB with a certificate: HTTPS too, and a custom app port everywhere", () => {
    const https = synthesizeReference({
      reference: { certificateArn: CERTIFICATE, appPort: 8080 },
      groups: [
        {
          name: "cnt-backend-asg",
          targetGroups: ["cnt-backend-tg"],
          app: {
            services: [{ name: "api", image: "nginx:1.27", ports: ["8080:80"] }],
            healthCheckUrl: "http://127.0.0.1:8080/health",
          },
        },
      ],
    });
    const httpsAlb = https.logicalId(envOf(https).loadBalancer.securityGroup);
    const httpsInstances = https.logicalId(envOf(https).instances.securityGroup);
    expect(rulesOf(https.template, httpsAlb, "ingress")).toEqual([
      { protocol: "tcp", from: 443, to: 443, peer: "0.0.0.0/0" },
      { protocol: "tcp", from: 80, to: 80, peer: "0.0.0.0/0" },
    ]);
    expect(rulesOf(https.template, httpsInstances, "ingress")).toEqual([
      { protocol: "tcp", from: 8080, to: 8080, peer: `sg:${httpsAlb}` },
    ]);
    https.template.hasResourceProperties("AWS::ElasticLoadBalancingV2::Listener", {
      Port: 443,
      Protocol: "HTTPS",
      Certificates: [{ CertificateArn: CERTIFICATE }],
      DefaultActions: [Match.objectLike({ Type: "forward" })],
    });
    https.template.hasResourceProperties("AWS::ElasticLoadBalancingV2::Listener", {
      Port: 80,
      DefaultActions: [
        { Type: "redirect", RedirectConfig: { Protocol: "HTTPS", Port: "443", StatusCode: "HTTP_301" } },
      ],
    });
  });
});

describe("target group", () => {
  let s: SynthesizedReference;
  beforeAll(() => {
    s = synthesizeReference({ reference: { deregistrationDelaySeconds: 900 } });
  });

  it("is an instance-type group named as the gate's config names it, with a fast, strict health check", () => {
    s.template.resourceCountIs("AWS::ElasticLoadBalancingV2::TargetGroup", 1);
    s.template.hasResourceProperties("AWS::ElasticLoadBalancingV2::TargetGroup", {
      Name: "cnt-backend-tg",
      TargetType: "instance",
      Protocol: "HTTP",
      Port: 8000,
      HealthCheckPath: "/health",
      HealthCheckPort: "8000",
      HealthCheckIntervalSeconds: 10,
      HealthCheckTimeoutSeconds: 5,
      HealthyThresholdCount: 2,
      UnhealthyThresholdCount: 3,
      Matcher: { HttpCode: "200" },
      TargetGroupAttributes: Match.arrayWith([
        { Key: "deregistration_delay.timeout_seconds", Value: "900" },
        { Key: "stickiness.enabled", Value: "true" },
        { Key: "stickiness.type", Value: "lb_cookie" },
      ]),
    });
  });

  it("is the default action of the HTTP listener without a certificate", () => {
    s.template.hasResourceProperties("AWS::ElasticLoadBalancingV2::Listener", {
      Port: 80,
      Protocol: "HTTP",
      DefaultActions: [Match.objectLike({ Type: "forward" })],
    });
  });
});
