import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import type { LaunchgateConfig } from "../../../shared/config/schema.js";
import { DIMENSION, METRIC } from "../../../shared/metrics/metric-names.js";
import type { GateFunction } from "../gate-function.js";
import { FIVE_MINUTES, gateMetric, gateMetricsBy } from "./gate-metrics.js";

export interface GateDashboardProps {
  readonly config: LaunchgateConfig;
  readonly functions: ReadonlyMap<string, GateFunction>;
  readonly failureQueue: sqs.IQueue;
}

const HEIGHT = 6;

/**
 * One dashboard per stack: per group, how launches go (time to InService, outcomes, abandons by reason,
 * phase durations) beside what Auto Scaling and the load balancer see; then the automation's own health.
 */
export class GateDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: GateDashboardProps) {
    super(scope, id);
    const { config } = props;
    this.dashboard = new cloudwatch.Dashboard(this, "Dashboard", {
      dashboardName: config.stackName,
      defaultInterval: undefined,
    });
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        width: 24,
        height: 2,
        markdown: [
          `# launchgate · ${config.stackName}`,
          "An instance goes InService only once the load balancer reports it healthy. Group capacity needs the group's metrics collection enabled (`aws autoscaling enable-metrics-collection`).",
        ].join("\n"),
      }),
    );
    for (const group of config.groups) this.addGroupRow(group.name, group.targetGroups);
    this.addAutomationRow(props);
  }

  private addGroupRow(groupName: string, targetGroups: readonly string[]): void {
    const p = (statistic: string) =>
      gateMetric(METRIC.timeToInServiceSeconds, groupName, { statistic, label: statistic });
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({ width: 24, height: 1, markdown: `## ${groupName}` }),
      new cloudwatch.GraphWidget({
        title: `${groupName}: time to InService (s)`,
        width: 8,
        height: HEIGHT,
        left: [p("p50"), p("p95"), p("Maximum")],
      }),
      new cloudwatch.GraphWidget({
        title: `${groupName}: launches`,
        width: 8,
        height: HEIGHT,
        left: [
          gateMetric(METRIC.launchesStarted, groupName, { label: "started" }),
          gateMetric(METRIC.launchesContinued, groupName, { label: "continued" }),
          gateMetric(METRIC.launchesAbandoned, groupName, { label: "abandoned" }),
          gateMetric(METRIC.outcomesNotApplied, groupName, { label: "outcome not applied" }),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: `${groupName}: abandons by reason`,
        width: 8,
        height: HEIGHT,
        left: [gateMetricsBy(METRIC.launchesAbandoned, groupName, DIMENSION.reason)],
      }),
      new cloudwatch.GraphWidget({
        title: `${groupName}: phase durations, p95 (s)`,
        width: 8,
        height: HEIGHT,
        left: [
          gateMetric(METRIC.agentWaitSeconds, groupName, { statistic: "p95", label: "agent Online" }),
          gateMetric(METRIC.bootstrapSeconds, groupName, { statistic: "p95", label: "bootstrap" }),
          gateMetric(METRIC.healthWaitSeconds, groupName, {
            statistic: "p95",
            label: "registered → healthy",
          }),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: `${groupName}: capacity`,
        width: 8,
        height: HEIGHT,
        left: ["GroupDesiredCapacity", "GroupInServiceInstances", "GroupPendingInstances"].map(
          (metricName) =>
            new cloudwatch.Metric({
              namespace: "AWS/AutoScaling",
              metricName,
              dimensionsMap: { AutoScalingGroupName: groupName },
              statistic: "Maximum",
              period: FIVE_MINUTES,
            }),
        ),
      }),
      new cloudwatch.GraphWidget({
        title: `${groupName}: healthy / unhealthy targets`,
        width: 8,
        height: HEIGHT,
        left: targetGroups.map((name) => targetHealthSearch("HealthyHostCount", name)),
        right: targetGroups.map((name) => targetHealthSearch("UnHealthyHostCount", name)),
      }),
      new cloudwatch.GraphWidget({
        title: `${groupName}: reconciler rescues and remediation`,
        width: 8,
        height: HEIGHT,
        left: [gateMetricsBy(METRIC.reconcilerRescues, groupName, DIMENSION.action)],
        right: [
          gateMetricsBy(METRIC.remediationActions, groupName, DIMENSION.action),
          gateMetricsBy(METRIC.remediationRefusals, groupName, DIMENSION.reason),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: `${groupName}: operations by kind and outcome`,
        width: 8,
        height: HEIGHT,
        left: [gateMetricsBy(METRIC.operationsFinished, groupName, `${DIMENSION.kind},${DIMENSION.outcome}`)],
      }),
      // Launches started and no agent looks in that period or the next: no agent watch ran, and waits
      // react at their chains' pace. Health looks pause for minutes normally: no watch runs during bootstraps.
      new cloudwatch.GraphWidget({
        title: `${groupName}: watch looks (shared polls) beside launches started`,
        width: 8,
        height: HEIGHT,
        left: (["agent", "health"] as const).map((watch) =>
          gateMetric(METRIC.watchLooks, groupName, {
            extra: { [DIMENSION.watch]: watch },
            label: `${watch} looks`,
          }),
        ),
        right: [gateMetric(METRIC.launchesStarted, groupName, { label: "launches started" })],
      }),
    );
  }

  private addAutomationRow(props: GateDashboardProps): void {
    const functions = [...props.functions];
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({ width: 24, height: 1, markdown: "## the automation" }),
      new cloudwatch.GraphWidget({
        title: "failure queue depth",
        width: 8,
        height: HEIGHT,
        left: [
          props.failureQueue.metricApproximateNumberOfMessagesVisible({
            statistic: "Maximum",
            period: FIVE_MINUTES,
            label: "messages",
          }),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: "function errors",
        width: 8,
        height: HEIGHT,
        left: functions.map(([name, fn]) =>
          fn.function.metricErrors({ period: FIVE_MINUTES, statistic: "Sum", label: name }),
        ),
      }),
      new cloudwatch.GraphWidget({
        title: "function throttles",
        width: 8,
        height: HEIGHT,
        left: functions.map(([name, fn]) =>
          fn.function.metricThrottles({ period: FIVE_MINUTES, statistic: "Sum", label: name }),
        ),
      }),
    );
  }
}

/**
 * The load balancer's host counts of one target group, found by its name: the metric's TargetGroup
 * dimension is `targetgroup/NAME/ID`, and the id is not known at synth for a group named in config.
 * An unquoted value is a partial match on its words, so a target group whose name contains this one's
 * words shows as well (the legend names each).
 */
function targetHealthSearch(metricName: string, targetGroupName: string): cloudwatch.IMetric {
  return new cloudwatch.MathExpression({
    expression: `SEARCH('{AWS/ApplicationELB,LoadBalancer,TargetGroup} MetricName="${metricName}" TargetGroup=${targetGroupName}', 'Minimum', 60)`,
    label: metricName === "HealthyHostCount" ? "healthy" : "unhealthy",
    period: FIVE_MINUTES,
  });
}
