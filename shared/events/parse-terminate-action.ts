import * as z from "zod/mini";
import { formatIssues } from "../config/format-issues.js";
import { InvalidInputError, SkipEventError } from "../errors.js";
import { INSTANCE_ID } from "./instance-id.js";
import { TERMINATE_LIFECYCLE_DETAIL_TYPE } from "./patterns.js";

/*
 * Sample (docs/aws-facts.md, terminate lifecycle hooks):
 * {"version":"0","id":"…","detail-type":"EC2 Instance-terminate Lifecycle Action","source":"aws.autoscaling",
 *  "time":"2021-01-19T00:35:52.359Z","region":"us-west-2","resources":["arn:…"],
 *  "detail":{"LifecycleActionToken":"…","AutoScalingGroupName":"my-asg","LifecycleHookName":"my-hook",
 *   "EC2InstanceId":"i-1234567890abcdef0","LifecycleTransition":"autoscaling:EC2_INSTANCE_TERMINATING",
 *   "Origin":"AutoScalingGroup","Destination":"EC2"}}
 * Destination is WarmPool for an instance returning to the pool on scale-in. Parsed loosely: AWS may add fields.
 */
const lifecycleActionSchema = z.object({
  source: z.literal("aws.autoscaling"),
  time: z.optional(z.string()),
  "detail-type": z.literal(TERMINATE_LIFECYCLE_DETAIL_TYPE),
  detail: z.object({
    LifecycleActionToken: z.optional(z.string().check(z.minLength(1))),
    AutoScalingGroupName: z.string().check(z.minLength(1)),
    LifecycleHookName: z.string().check(z.minLength(1)),
    EC2InstanceId: z.string().check(z.regex(INSTANCE_ID)),
    LifecycleTransition: z.string(),
    Origin: z.optional(z.string()),
    Destination: z.optional(z.string()),
  }),
});

export const TERMINATING_TRANSITION = "autoscaling:EC2_INSTANCE_TERMINATING";

/** An instance leaving its group (scale-in, or back to the warm pool) waiting at a drain hook. */
export interface TerminateEvent {
  readonly kind: "terminate";
  readonly instanceId: string;
  readonly groupName: string;
  readonly hookName: string;
  readonly token: string;
  /** Where the instance goes: EC2 (terminated) or WarmPool; absent in the event means EC2. */
  readonly destination: string;
  /** When the instance started waiting (the event's `time`, epoch ms), if the event says. */
  readonly waitStartedAt?: number;
}

/** Whether an EventBridge event is a terminate lifecycle action (by its detail-type only). */
export function isTerminateAction(raw: unknown): boolean {
  return (
    typeof raw === "object" &&
    raw !== null &&
    (raw as Record<string, unknown>)["detail-type"] === TERMINATE_LIFECYCLE_DETAIL_TYPE
  );
}

/** Converts an EventBridge terminate lifecycle action into a TerminateEvent, or says why it cannot. */
export function parseTerminateAction(raw: unknown): TerminateEvent {
  const parsed = lifecycleActionSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    throw new InvalidInputError(
      `malformed terminate lifecycle action event: ${formatIssues(parsed.error.issues).join("; ")}`,
    );
  }
  const { detail } = parsed.data;
  if (!detail.LifecycleActionToken) {
    throw new SkipEventError("lifecycle event without a token (test notification)", { detail });
  }
  if (detail.LifecycleTransition !== TERMINATING_TRANSITION) {
    throw new SkipEventError("not a terminate transition", { transition: detail.LifecycleTransition });
  }
  const time = parsed.data.time === undefined ? Number.NaN : Date.parse(parsed.data.time);
  return {
    kind: "terminate",
    instanceId: detail.EC2InstanceId,
    groupName: detail.AutoScalingGroupName,
    hookName: detail.LifecycleHookName,
    token: detail.LifecycleActionToken,
    destination: detail.Destination ?? "EC2",
    ...(Number.isNaN(time) ? {} : { waitStartedAt: time }),
  };
}
