import { Match } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { asList, policyStatements, type Synthesized, synthesize } from "./synth.js";

/** Graceful drain on scale-in (issue 13): the terminate hook, its rule, and what the launch function may do. */
const drainGroup = {
  name: "cnt-backend-asg",
  targetGroups: ["cnt-backend-tg"],
  drain: { timeoutSeconds: 120 },
};

let app: Synthesized;
let plain: Synthesized;
beforeAll(() => {
  app = synthesize({ groups: [drainGroup] });
  plain = synthesize();
});

describe("drain hook", () => {
  it("a group with drain gets a terminate hook, default CONTINUE, heartbeat past the limit", () => {
    app.template.resourceCountIs("AWS::AutoScaling::LifecycleHook", 2);
    app.template.hasResourceProperties("AWS::AutoScaling::LifecycleHook", {
      AutoScalingGroupName: "cnt-backend-asg",
      LifecycleHookName: "launchgate-launch-drain",
      LifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING",
      DefaultResult: "CONTINUE",
      HeartbeatTimeout: 420,
    });
  });

  it("a group without drain has no terminate hook and no drain rule", () => {
    plain.template.resourceCountIs("AWS::AutoScaling::LifecycleHook", 1);
    const patterns = Object.values(plain.template.findResources("AWS::Events::Rule")).map((rule) =>
      JSON.stringify(rule.Properties.EventPattern ?? {}),
    );
    expect(patterns.some((pattern) => pattern.includes("terminate"))).toBe(false);
  });

  it("the hook goes inside a group the app creates (the reference environment)", () => {
    const reference = synthesize({ groups: [drainGroup], reference: {} });
    const [group] = Object.values(reference.template.findResources("AWS::AutoScaling::AutoScalingGroup"));
    // Inside the group, which is created after the gate: a separate hook resource naming the group
    // would be created before it, and fail.
    expect(group?.Properties.LifecycleHookSpecificationList).toContainEqual(
      expect.objectContaining({
        LifecycleHookName: "launchgate-launch-drain",
        LifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING",
        DefaultResult: "CONTINUE",
      }),
    );
    reference.template.resourceCountIs("AWS::AutoScaling::LifecycleHook", 0);
  });
});

describe("drain rule", () => {
  it("routes terminate lifecycle actions of the drain hook to the launch function", () => {
    const rules = Object.values(app.template.findResources("AWS::Events::Rule")).filter(
      (rule) =>
        rule.Properties.EventPattern?.["detail-type"]?.[0] === "EC2 Instance-terminate Lifecycle Action",
    );
    expect(rules).toHaveLength(1);
    expect(rules[0]?.Properties.EventPattern).toEqual({
      source: ["aws.autoscaling"],
      "detail-type": ["EC2 Instance-terminate Lifecycle Action"],
      detail: { AutoScalingGroupName: ["cnt-backend-asg"], LifecycleHookName: ["launchgate-launch-drain"] },
    });
    expect(JSON.stringify(rules[0]?.Properties.Targets[0].Arn)).toMatch(/LaunchGateLaunch/);
    expect(rules[0]?.Properties.Targets[0]).toMatchObject({
      DeadLetterConfig: { Arn: expect.anything() },
      RetryPolicy: { MaximumRetryAttempts: 4 },
    });
  });

  it("the runtime config names the drain hook and limit", () => {
    const functions = Object.values(app.template.findResources("AWS::Lambda::Function"));
    const env = JSON.stringify(functions.map((fn) => fn.Properties.Environment?.Variables ?? {}));
    expect(env).toContain(
      '\\"drain\\":{\\"hookName\\":\\"launchgate-launch-drain\\",\\"timeoutSeconds\\":120}',
    );
  });

  it("the document's settings carry the drain limit", () => {
    const documents = Object.values(app.template.findResources("AWS::SSM::Document"));
    const runCommand: string[] = documents[0]?.Properties.Content.mainSteps[0].inputs.runCommand;
    const settings = runCommand.find((line) => line.endsWith('> "$run_dir/settings.env"')) ?? "";
    const payload = /^printf '%s' '([A-Za-z0-9+/=]+)'/.exec(settings)?.[1] ?? "";
    expect(Buffer.from(payload, "base64").toString("utf8")).toContain("DRAIN_TIMEOUT_SECONDS=120\n");
  });
});

describe("drain IAM", () => {
  it("the launch function may read the drain command's invocation only when a group drains", () => {
    const launchActions = (synth: Synthesized) =>
      Object.entries(synth.template.findResources("AWS::IAM::Policy"))
        .filter(([id]) => id.startsWith("LaunchGateLaunch"))
        .flatMap(([, policy]) =>
          policy.Properties.PolicyDocument.Statement.flatMap((st: { Action: string | string[] }) =>
            asList(st.Action),
          ),
        );
    expect(launchActions(app)).toContain("ssm:GetCommandInvocation");
    expect(launchActions(plain)).not.toContain("ssm:GetCommandInvocation");
    // Completing and heartbeating the drain hook is covered by the group-scoped hook grant.
    const hookStatement = policyStatements(app.template).find((st) => st.Sid === "CompleteOwnHooks");
    expect(asList(hookStatement?.Action ?? [])).toEqual([
      "autoscaling:CompleteLifecycleAction",
      "autoscaling:RecordLifecycleActionHeartbeat",
    ]);
  });

  it("passes cdk-nag", () => {
    expect(app.nagViolations).toEqual([]);
  });
});

describe("the reference environment with a drain", () => {
  it("keeps sessions through the deregistration delay for at least the drain's limit", () => {
    const reference = synthesize({
      groups: [{ ...drainGroup, drain: { timeoutSeconds: 900 } }],
      reference: { deregistrationDelaySeconds: 300 },
    });
    reference.template.hasResourceProperties("AWS::ElasticLoadBalancingV2::TargetGroup", {
      TargetGroupAttributes: Match.arrayWith([{ Key: "deregistration_delay.timeout_seconds", Value: "900" }]),
    });
  });
});
