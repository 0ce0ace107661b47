import { describe, expect, it } from "vitest";
import { asList, policyStatements, synthesize } from "./synth.js";

describe("remediation infrastructure", () => {
  it("is absent while no group names alarms (the default)", () => {
    const { template } = synthesize();
    expect(policyStatements(template).flatMap((s) => asList(s.Action))).not.toContain(
      "autoscaling:SetInstanceHealth",
    );
    const rules = Object.values(template.findResources("AWS::Events::Rule"));
    expect(
      rules.some((rule) => JSON.stringify(rule.Properties.EventPattern ?? {}).includes("aws.cloudwatch")),
    ).toBe(false);
  });

  it("routes the named alarms to the remediate function, with actions scoped to the group and the alarms", () => {
    const { template, nagViolations } = synthesize({
      groups: [
        {
          name: "cnt-backend-asg",
          targetGroups: ["cnt-backend-tg"],
          remediation: { alarms: ["cnt-backend-unhealthy-hosts"] },
        },
      ],
    });
    expect(nagViolations).toEqual([]);
    template.hasResourceProperties("AWS::Events::Rule", {
      EventPattern: {
        source: ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        detail: { alarmName: ["cnt-backend-unhealthy-hosts"], state: { value: ["ALARM"] } },
      },
    });
    const statements = policyStatements(template);
    const setHealth = statements.filter((s) => asList(s.Action).includes("autoscaling:SetInstanceHealth"));
    expect(setHealth).toHaveLength(1);
    expect(JSON.stringify(setHealth[0]?.Resource)).toContain(
      ":autoScalingGroup:*:autoScalingGroupName/cnt-backend-asg",
    );
    const describeAlarms = statements.find((s) => asList(s.Action).includes("cloudwatch:DescribeAlarms"));
    expect(JSON.stringify(describeAlarms?.Resource)).toContain(":alarm:cnt-backend-unhealthy-hosts");
    // The alarm-triggered function decides and starts an operation: it can neither end a launch,
    // nor pull a target out of its load balancer, nor run a command.
    const remediateActions = Object.entries(template.findResources("AWS::IAM::Policy"))
      .filter(([id]) => id.startsWith("LaunchGateRemediate"))
      .flatMap(([, policy]) =>
        policy.Properties.PolicyDocument.Statement.flatMap((st: { Action: string | string[] }) =>
          asList(st.Action),
        ),
      );
    expect(remediateActions).toContain("dynamodb:PutItem");
    for (const forbidden of [
      "autoscaling:CompleteLifecycleAction",
      "autoscaling:SetInstanceHealth",
      "elasticloadbalancing:DeregisterTargets",
      "ssm:SendCommand",
    ])
      expect(remediateActions).not.toContain(forbidden);
  });
});
