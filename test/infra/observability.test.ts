import { Match } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { type Synthesized, synthesize } from "./synth.js";

/** The dashboard, the alarms on the automation, their topic and the saved queries, as synthesized. */

let app: Synthesized;
const STACK = "launchgate-cnt-backend";
const GROUP = "cnt-backend-asg";

beforeAll(() => {
  app = synthesize({
    notifications: { emails: ["ops@example.com", "oncall@example.com"] },
    groups: [
      { name: GROUP, targetGroups: ["cnt-backend-tg"], remediation: { alarms: ["cnt-backend-unhealthy"] } },
    ],
  });
});

interface Widget {
  type: string;
  properties: { title?: string; metrics?: unknown[][] };
}

/** The dashboard's widgets, with CloudFormation references (function names, the queue) as "<ref>". */
function dashboardWidgets(): Widget[] {
  const [dashboard] = Object.values(app.template.findResources("AWS::CloudWatch::Dashboard"));
  if (!dashboard) throw new Error("no dashboard");
  const [, parts] = dashboard.Properties.DashboardBody["Fn::Join"] as [string, unknown[]];
  const body = parts.map((part) => (typeof part === "string" ? part : "<ref>")).join("");
  return JSON.parse(body).widgets;
}

function widget(title: string): Widget {
  const found = dashboardWidgets().find((w) => w.properties.title === title);
  if (!found) throw new Error(`no widget titled ${title}`);
  return found;
}

function alarm(name: string): Record<string, unknown> {
  const found = Object.values(app.template.findResources("AWS::CloudWatch::Alarm")).find(
    (resource) => resource.Properties.AlarmName === name,
  );
  if (!found) throw new Error(`no alarm ${name}`);
  return found.Properties;
}

describe("alarms on the automation", () => {
  it("fire on the first abandon, rescue, outcome not applied and systemic refusal of the group", () => {
    for (const [name, metric, extra] of [
      [`${STACK}-abandoned-${GROUP}`, "LaunchesAbandoned", {}],
      [`${STACK}-reconciler-rescued-${GROUP}`, "ReconcilerRescues", {}],
      [`${STACK}-outcome-not-applied-${GROUP}`, "LaunchOutcomesNotApplied", {}],
      [`${STACK}-remediation-refused-systemic-${GROUP}`, "RemediationRefusals", { reason: "systemic" }],
    ] as const) {
      expect(alarm(name)).toMatchObject({
        Namespace: "launchgate",
        MetricName: metric,
        Statistic: "Sum",
        Period: 300,
        Threshold: 1,
        EvaluationPeriods: 1,
        ComparisonOperator: "GreaterThanOrEqualToThreshold",
        TreatMissingData: "notBreaching",
      });
      const dimensions = Object.fromEntries(
        (alarm(name).Dimensions as { Name: string; Value: string }[]).map((d) => [d.Name, d.Value]),
      );
      expect(dimensions).toEqual({ service: "launchgate", group: GROUP, ...extra });
    }
  });

  it("fire when the failure queue holds a message and when any function errs", () => {
    expect(alarm(`${STACK}-failure-queue-not-empty`)).toMatchObject({
      Namespace: "AWS/SQS",
      MetricName: "ApproximateNumberOfMessagesVisible",
      Statistic: "Maximum",
      Threshold: 1,
    });
    for (const fn of ["launch", "command-result", "reconcile", "rebootstrap", "operations", "remediate"]) {
      expect(alarm(`${STACK}-${fn}-errors`)).toMatchObject({
        Namespace: "AWS/Lambda",
        MetricName: "Errors",
        Threshold: 1,
      });
    }
    app.template.resourceCountIs("AWS::CloudWatch::Alarm", 4 + 1 + 6);
  });

  it("has no systemic-refusal alarm for a group without remediation", () => {
    const plain = synthesize({ groups: [{ name: "web-asg", targetGroups: ["web-tg"] }] });
    const names = Object.values(plain.template.findResources("AWS::CloudWatch::Alarm")).map(
      (resource) => resource.Properties.AlarmName,
    );
    expect(names.filter((name: string) => name.includes("systemic"))).toEqual([]);
    expect(names.filter((name: string) => name.includes("-remediate-"))).toEqual([]);
  });

  it("all notify one encrypted topic that each configured address subscribes to", () => {
    const [topicId] = Object.keys(app.template.findResources("AWS::SNS::Topic"));
    app.template.resourceCountIs("AWS::SNS::Topic", 1);
    for (const props of Object.values(app.template.findResources("AWS::CloudWatch::Alarm"))) {
      expect(props.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
    }
    app.template.resourceCountIs("AWS::SNS::Subscription", 2);
    app.template.hasResourceProperties("AWS::SNS::Subscription", {
      Protocol: "email",
      Endpoint: "ops@example.com",
      TopicArn: { Ref: topicId },
    });
    app.template.hasResourceProperties("AWS::SNS::Topic", { KmsMasterKeyId: Match.anyValue() });
  });

  it("let CloudWatch use the topic's key, for this account's launchgate alarms only", () => {
    app.template.hasResourceProperties("AWS::KMS::Key", {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
            Condition: {
              StringEquals: { "aws:SourceAccount": { Ref: "AWS::AccountId" } },
              ArnLike: {
                "aws:SourceArn": Match.objectLike({
                  "Fn::Join": ["", Match.arrayWith([`:alarm:${STACK}-*`])],
                }),
              },
            },
          }),
        ]),
      },
    });
  });

  it("let CloudWatch publish to the topic, for this account's launchgate alarms only", () => {
    const [topicId] = Object.keys(app.template.findResources("AWS::SNS::Topic"));
    app.template.hasResourceProperties("AWS::SNS::TopicPolicy", {
      Topics: [{ Ref: topicId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: "Allow",
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Action: "sns:Publish",
            Resource: { Ref: topicId },
            Condition: {
              StringEquals: { "aws:SourceAccount": { Ref: "AWS::AccountId" } },
              ArnLike: {
                "aws:SourceArn": Match.objectLike({
                  "Fn::Join": ["", Match.arrayWith([`:alarm:${STACK}-*`])],
                }),
              },
            },
          }),
        ]),
      },
    });
  });

  it("subscribe nobody when no addresses are configured", () => {
    synthesize().template.resourceCountIs("AWS::SNS::Subscription", 0);
  });
});

describe("the dashboard", () => {
  it("is named after the stack, with a row per group and one for the automation", () => {
    app.template.hasResourceProperties("AWS::CloudWatch::Dashboard", { DashboardName: STACK });
    expect(dashboardWidgets().flatMap((w) => w.properties.title ?? [])).toEqual([
      `${GROUP}: time to InService (s)`,
      `${GROUP}: launches`,
      `${GROUP}: abandons by reason`,
      `${GROUP}: phase durations, p95 (s)`,
      `${GROUP}: capacity`,
      `${GROUP}: healthy / unhealthy targets`,
      `${GROUP}: reconciler rescues and remediation`,
      `${GROUP}: operations by kind and outcome`,
      `${GROUP}: watch looks (shared polls) beside launches started`,
      "failure queue depth",
      "function errors",
      "function throttles",
    ]);
  });

  it("graphs p50 and p95 of time to InService from the metric the functions emit", () => {
    const ours = ["group", GROUP, "service", "launchgate"];
    expect(widget(`${GROUP}: time to InService (s)`).properties.metrics).toEqual([
      ["launchgate", "TimeToInServiceSeconds", ...ours, { label: "p50", stat: "p50" }],
      ["launchgate", "TimeToInServiceSeconds", ...ours, { label: "p95", stat: "p95" }],
      ["launchgate", "TimeToInServiceSeconds", ...ours, { label: "Maximum", stat: "Maximum" }],
    ]);
  });

  it("splits abandons by reason, and shows Auto Scaling's capacity and the target groups' host counts", () => {
    expect(widget(`${GROUP}: abandons by reason`).properties.metrics).toEqual([
      [
        {
          expression: `SEARCH('{launchgate,reason,group,service} MetricName="LaunchesAbandoned" group="${GROUP}"', 'Sum', 300)`,
        },
      ],
    ]);
    expect(widget(`${GROUP}: capacity`).properties.metrics?.map((m) => m.slice(1, 4))).toEqual([
      ["GroupDesiredCapacity", "AutoScalingGroupName", GROUP],
      ["GroupInServiceInstances", "AutoScalingGroupName", GROUP],
      ["GroupPendingInstances", "AutoScalingGroupName", GROUP],
    ]);
    const expressions = widget(`${GROUP}: healthy / unhealthy targets`).properties.metrics?.map(
      ([m]) => (m as { expression: string }).expression,
    );
    expect(expressions).toEqual([
      `SEARCH('{AWS/ApplicationELB,LoadBalancer,TargetGroup} MetricName="HealthyHostCount" TargetGroup=cnt-backend-tg', 'Minimum', 60)`,
      `SEARCH('{AWS/ApplicationELB,LoadBalancer,TargetGroup} MetricName="UnHealthyHostCount" TargetGroup=cnt-backend-tg', 'Minimum', 60)`,
    ]);
  });

  it("graphs each watch's looks, by the dimensions the watch emits them with, beside launches started", () => {
    const ours = ["group", GROUP, "service", "launchgate"];
    expect(widget(`${GROUP}: watch looks (shared polls) beside launches started`).properties.metrics).toEqual(
      [
        ["launchgate", "WatchLooks", ...ours, "watch", "agent", { label: "agent looks", stat: "Sum" }],
        ["launchgate", "WatchLooks", ...ours, "watch", "health", { label: "health looks", stat: "Sum" }],
        [
          "launchgate",
          "LaunchesStarted",
          ...ours,
          { label: "launches started", stat: "Sum", yAxis: "right" },
        ],
      ],
    );
  });

  it("shows the failure queue and every function's errors and throttles", () => {
    expect(widget("failure queue depth").properties.metrics).toEqual([
      [
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        "QueueName",
        "<ref>",
        { label: "messages", stat: "Maximum" },
      ],
    ]);
    for (const title of ["function errors", "function throttles"]) {
      expect(widget(title).properties.metrics?.map((m) => (m.at(-1) as { label: string }).label)).toEqual([
        "launch",
        "command-result",
        "reconcile",
        "rebootstrap",
        "operations",
        "remediate",
      ]);
    }
  });
});

describe("saved Logs Insights queries", () => {
  it("tell an instance's story, list the abandons and the watch invocations, over every function's log group", () => {
    const queries = Object.values(app.template.findResources("AWS::Logs::QueryDefinition")).map(
      (resource) => resource.Properties,
    );
    expect(queries.map((query) => query.Name).sort()).toEqual([
      `${STACK}/abandons (run over the last day)`,
      `${STACK}/watch invocations (looks, steps, how each ended)`,
      `${STACK}/what happened to instance (replace the id)`,
    ]);
    for (const query of queries) expect(query.LogGroupNames).toHaveLength(6);
    const abandons = queries.find((query) => query.Name.includes("abandons"));
    expect(abandons?.QueryString).toContain('filter message = "launch abandoned"');
    const story = queries.find((query) => query.Name.includes("instance"));
    expect(story?.QueryString).toContain('filter instanceId = "i-0123456789abcdef0"');
    const watches = queries.find((query) => query.Name.includes("watch invocations"));
    expect(watches?.QueryString).toContain("filter message like /^watch invocation/");
  });
});

describe("cdk-nag", () => {
  it("has no unacknowledged finding with observability in place", () => {
    expect(app.nagViolations).toEqual([]);
  });
});
