import { beforeAll, describe, expect, it } from "vitest";
import { type Synthesized, synthesize } from "../synth.js";

/** `{"reference": {}}` through the standalone app: the whole seed environment and its gate, one stack. */

let app: Synthesized;

beforeAll(() => {
  app = synthesize({ reference: {} });
});

describe("the standalone app with a reference environment", () => {
  it("is cdk-nag clean", () => {
    expect(app.nagViolations).toEqual([]);
  });

  it("gates the group it creates by the hook inside it, and adds no separate hook", () => {
    app.template.resourceCountIs("AWS::AutoScaling::LifecycleHook", 0);
    const [group] = Object.values(app.template.findResources("AWS::AutoScaling::AutoScalingGroup"));
    expect(group?.Properties.AutoScalingGroupName).toBe("cnt-backend-asg");
    expect(group?.Properties.LifecycleHookSpecificationList).toEqual([
      {
        LifecycleHookName: "launchgate-launch",
        LifecycleTransition: "autoscaling:EC2_INSTANCE_LAUNCHING",
        DefaultResult: "ABANDON",
        HeartbeatTimeout: 600,
      },
    ]);
  });

  it("creates the group after the gate's rules and functions, so its first launch is heard", () => {
    const [groupId] = Object.keys(app.template.findResources("AWS::AutoScaling::AutoScalingGroup"));
    const dependsOn = app.template.toJSON().Resources[groupId ?? ""].DependsOn as string[];
    const rules = Object.keys(app.template.findResources("AWS::Events::Rule"));
    const functions = Object.keys(app.template.findResources("AWS::Lambda::Function"));
    for (const id of [...rules, ...functions]) expect(dependsOn).toContain(id);
  });

  it("points the app at the Redis it creates", () => {
    const document = Object.values(app.template.findResources("AWS::SSM::Document"))[0];
    // The document carries its files base64-encoded (printf '…' | base64 -d): decode them all.
    const files = [
      ...JSON.stringify(document?.Properties.Content).matchAll(/printf '%s' '([A-Za-z0-9+/=]+)'/g),
    ]
      .map((match) => Buffer.from(match[1] ?? "", "base64").toString("utf8"))
      .join("\n");
    expect(files).toContain("redis.launchgate.internal:6379");
    expect(files).not.toContain("cache.amazonaws.com");
  });

  it("adds nothing of it without `reference`", () => {
    const plain = synthesize();
    plain.template.resourceCountIs("AWS::AutoScaling::AutoScalingGroup", 0);
    plain.template.resourceCountIs("AWS::AutoScaling::LifecycleHook", 1);
    plain.template.resourceCountIs("AWS::ElastiCache::ReplicationGroup", 0);
  });
});
