/**
 * EventBridge patterns, defined once: the stack deploys exactly these, and the simulation routes events
 * with the same objects, so the two cannot drift apart.
 */

export const LAUNCH_LIFECYCLE_DETAIL_TYPE = "EC2 Instance-launch Lifecycle Action";
export const TERMINATE_LIFECYCLE_DETAIL_TYPE = "EC2 Instance-terminate Lifecycle Action";
export const COMMAND_INVOCATION_DETAIL_TYPE = "EC2 Command Invocation Status-change Notification";
export const ALARM_STATE_CHANGE_DETAIL_TYPE = "CloudWatch Alarm State Change";

/**
 * SSM statuses that are known not to be final (docs/aws-facts.md, SSM Run Command); the full status list
 * is UNCONFIRMED.
 */
export const NON_TERMINAL_COMMAND_STATUSES = ["Pending", "InProgress", "Delayed", "Cancelling"] as const;

/** A field's allowed values, or (for a nested field such as `state.value`) a pattern for its fields. */
export type FieldPattern = readonly unknown[] | { readonly [field: string]: FieldPattern };

export interface EventPattern {
  readonly source: readonly string[];
  readonly "detail-type": readonly string[];
  readonly detail: Readonly<Record<string, FieldPattern>>;
}

/** Launch lifecycle actions of the configured groups and hooks. */
export function launchLifecyclePattern(groups: readonly { name: string; hookName: string }[]): EventPattern {
  return {
    source: ["aws.autoscaling"],
    "detail-type": [LAUNCH_LIFECYCLE_DETAIL_TYPE],
    detail: {
      AutoScalingGroupName: unique(groups.map((group) => group.name)),
      LifecycleHookName: unique(groups.map((group) => group.hookName)),
    },
  };
}

/**
 * Terminate lifecycle actions at the drain hooks of the groups that drain (groups[].drain); undefined
 * when no group drains (no rule then).
 */
export function terminateLifecyclePattern(
  groups: readonly { name: string; drain?: { hookName: string } | undefined }[],
): EventPattern | undefined {
  const draining = groups.flatMap((group) => (group.drain ? [{ ...group, drain: group.drain }] : []));
  if (draining.length === 0) return undefined;
  return {
    source: ["aws.autoscaling"],
    "detail-type": [TERMINATE_LIFECYCLE_DETAIL_TYPE],
    detail: {
      AutoScalingGroupName: unique(draining.map((group) => group.name)),
      LifecycleHookName: unique(draining.map((group) => group.drain.hookName)),
    },
  };
}

/**
 * Status changes of our bootstrap documents' invocations that may be final. We exclude the known
 * non-final statuses rather than list final ones, so an unlisted final status still reaches the handler,
 * which reads the authoritative status with GetCommandInvocation anyway.
 */
export function commandInvocationPattern(documentNames: readonly string[]): EventPattern {
  return {
    source: ["aws.ssm"],
    "detail-type": [COMMAND_INVOCATION_DETAIL_TYPE],
    detail: {
      "document-name": unique(documentNames),
      status: [{ "anything-but": [...NON_TERMINAL_COMMAND_STATUSES] }],
    },
  };
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/**
 * Configured alarms going to ALARM (delivery of alarm state changes is guaranteed; docs/aws-facts.md,
 * events).
 */
export function alarmPattern(alarmNames: readonly string[]): EventPattern {
  return {
    source: ["aws.cloudwatch"],
    "detail-type": [ALARM_STATE_CHANGE_DETAIL_TYPE],
    detail: { alarmName: unique(alarmNames), state: { value: ["ALARM"] } },
  };
}
