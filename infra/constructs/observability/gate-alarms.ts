import { ArnFormat, Stack, Token } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as actions from "aws-cdk-lib/aws-cloudwatch-actions";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import type { LaunchgateConfig } from "../../../shared/config/schema.js";
import { METRIC } from "../../../shared/metrics/metric-names.js";
import type { GateFunction } from "../gate-function.js";
import { FIVE_MINUTES, gateMetric } from "./gate-metrics.js";

export interface GateAlarmsProps {
  readonly config: LaunchgateConfig;
  /** By the name each function has in alarms and on the dashboard. */
  readonly functions: ReadonlyMap<string, GateFunction>;
  readonly failureQueue: sqs.IQueue;
}

/**
 * Alarms on the automation itself, each to one topic that `notifications.emails` subscribe to. Every
 * alarm fires on the first occurrence in five minutes and treats no data as fine: these events are rare,
 * and each one is a launch (or an operation) someone should look at.
 */
export class GateAlarms extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: GateAlarmsProps) {
    super(scope, id);
    const { config } = props;
    const prefix = config.stackName;
    this.topic = this.notificationTopic(prefix);
    for (const email of config.notifications.emails) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(email));
    }

    config.groups.forEach((group, index) => {
      // A group passed as a construct has a token for a name: construct ids cannot hold one.
      const key = Token.isUnresolved(group.name) ? String(index) : group.name;
      this.alarm(`Abandons-${key}`, {
        alarmName: `${prefix}-abandoned-${group.name}`,
        alarmDescription: `launchgate abandoned a launch in ${group.name}: Auto Scaling replaces the instance. The gate record (launchgate status) and the saved query "abandons" say why.`,
        metric: gateMetric(METRIC.launchesAbandoned, group.name),
      });
      this.alarm(`OutcomeNotApplied-${key}`, {
        alarmName: `${prefix}-outcome-not-applied-${group.name}`,
        alarmDescription: `A launch in ${group.name} ended without launchgate's outcome: its hook timed out (Auto Scaling applied the default result) or someone else completed it.`,
        metric: gateMetric(METRIC.outcomesNotApplied, group.name),
      });
      this.alarm(`Rescues-${key}`, {
        alarmName: `${prefix}-reconciler-rescued-${group.name}`,
        alarmDescription: `The reconciler did the event-driven gate's work in ${group.name} (a lost lifecycle event, a dead re-check chain, an undelivered outcome, a wait at its deadline): look for a failing rule, function or queue.`,
        metric: gateMetric(METRIC.reconcilerRescues, group.name),
      });
      if (group.remediation.alarms.length > 0) {
        this.alarm(`RemediationSystemic-${key}`, {
          alarmName: `${prefix}-remediation-refused-systemic-${group.name}`,
          alarmDescription: `Remediation in ${group.name} refused to act because most targets are unhealthy at once: a shared dependency (Redis, the network, a bad deploy) is the likely cause, not the instances.`,
          metric: gateMetric(METRIC.remediationRefusals, group.name, { extra: { reason: "systemic" } }),
        });
      }
    });

    this.alarm("FailureQueue", {
      alarmName: `${prefix}-failure-queue-not-empty`,
      alarmDescription:
        "Events or re-checks failed every retry and wait in launchgate's failure queue: each is a launch the gate could not drive. Read them, fix the cause, then redrive or purge.",
      metric: props.failureQueue.metricApproximateNumberOfMessagesVisible({
        statistic: "Maximum",
        period: FIVE_MINUTES,
      }),
    });
    for (const [name, fn] of props.functions) {
      this.alarm(`Errors-${name}`, {
        alarmName: `${prefix}-${name}-errors`,
        alarmDescription: `The launchgate ${name} function failed an invocation (retried, but look at its logs).`,
        metric: fn.function.metricErrors({ period: FIVE_MINUTES, statistic: "Sum" }),
      });
    }
  }

  private alarm(
    id: string,
    props: { alarmName: string; alarmDescription: string; metric: cloudwatch.IMetric },
  ) {
    const alarm = new cloudwatch.Alarm(this, id, {
      ...props,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(new actions.SnsAction(this.topic));
    this.alarms.push(alarm);
  }

  /**
   * Encrypted with a key of our own: CloudWatch cannot publish to a topic under the AWS-managed SNS key,
   * only under a customer-managed key whose policy lets it (docs/aws-facts.md, alarm notifications).
   */
  private notificationTopic(prefix: string): sns.Topic {
    const key = new kms.Key(this, "TopicKey", {
      description: `launchgate ${prefix}: encrypts the alarm notification topic`,
      enableKeyRotation: true,
    });
    const stack = Stack.of(this);
    // Only this account's alarms of this stack (their names start with the stack's name).
    const alarmSource = {
      StringEquals: { "aws:SourceAccount": stack.account },
      ArnLike: {
        "aws:SourceArn": stack.formatArn({
          service: "cloudwatch",
          resource: "alarm",
          resourceName: `${prefix}-*`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      },
    };
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "CloudWatchAlarmsPublish",
        principals: [new iam.ServicePrincipal("cloudwatch.amazonaws.com")],
        actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
        resources: ["*"],
        conditions: alarmSource,
      }),
    );
    const topic = new sns.Topic(this, "Topic", {
      // SNS allows display names of up to 100 characters; the stack name alone may be longer.
      displayName: `launchgate ${prefix}`.slice(0, 100),
      masterKey: key,
      enforceSSL: true,
    });
    // The topic's policy (enforceSSL writes one) replaces SNS's default, which let the account publish:
    // CloudWatch, publishing for the alarms, needs its own Allow (docs/aws-facts.md, alarm notifications).
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "CloudWatchAlarmsPublish",
        principals: [new iam.ServicePrincipal("cloudwatch.amazonaws.com")],
        actions: ["sns:Publish"],
        resources: [topic.topicArn],
        conditions: alarmSource,
      }),
    );
    return topic;
  }
}
