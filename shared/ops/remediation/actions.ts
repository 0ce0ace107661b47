import { SetInstanceHealthCommand } from "@aws-sdk/client-auto-scaling";
import { DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import { DescribeTargetHealthCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import type { RegisteredTarget } from "../../gate/record.js";
import type { OpsDeps } from "../advance-operation.js";

/** Remediation's AWS-facing steps, each checked at the moment of acting, not when the episode began. */

/** No action when the alarm has cleared: re-read its state before every action. */
export async function alarmStillFiring(deps: OpsDeps, alarmName: string): Promise<boolean> {
  const {
    MetricAlarms = [],
    CompositeAlarms = [],
    LogAlarms = [],
  } = await deps.cloudwatch.send(
    // Without AlarmTypes, DescribeAlarms returns metric alarms only: a composite (or log) alarm would
    // never count as firing (docs/aws-facts.md, alarms).
    new DescribeAlarmsCommand({
      AlarmNames: [alarmName],
      AlarmTypes: ["MetricAlarm", "CompositeAlarm", "LogAlarm"],
    }),
  );
  const state = MetricAlarms[0]?.StateValue ?? CompositeAlarms[0]?.StateValue ?? LogAlarms[0]?.StateValue;
  return state === "ALARM";
}

/** True when this instance is healthy and no other target of its groups is: acting would leave nothing serving. */
export async function isLastHealthy(
  deps: OpsDeps,
  instanceId: string,
  targets: readonly RegisteredTarget[],
): Promise<boolean> {
  for (const target of targets) {
    const { TargetHealthDescriptions = [] } = await deps.elbv2.send(
      new DescribeTargetHealthCommand({ TargetGroupArn: target.targetGroupArn }),
    );
    const healthy = TargetHealthDescriptions.filter((d) => d.TargetHealth?.State === "healthy").map(
      (d) => d.Target?.Id,
    );
    if (healthy.includes(instanceId) && healthy.length === 1) return true;
  }
  return false;
}

/**
 * Marks the instance Unhealthy: Auto Scaling terminates and replaces it (scale-in protection does not
 * prevent it; docs/aws-facts.md, remediation APIs), and the replacement passes the launch gate like any
 * launch.
 */
export async function replaceInstance(deps: OpsDeps, instanceId: string, reason: string): Promise<void> {
  await deps.autoScaling.send(
    new SetInstanceHealthCommand({
      InstanceId: instanceId,
      HealthStatus: "Unhealthy",
      ShouldRespectGracePeriod: false,
    }),
  );
  deps.log.warn("remediation escalated: instance marked Unhealthy for replacement", { instanceId, reason });
}
