import * as z from "zod/mini";
import { formatIssues } from "../config/format-issues.js";
import { InvalidInputError, SkipEventError } from "../errors.js";
import type { LaunchEvent } from "./gate-event.js";
import { INSTANCE_ID } from "./instance-id.js";
import { LAUNCH_LIFECYCLE_DETAIL_TYPE } from "./patterns.js";

/*
 * Sample (docs/aws-facts.md, events):
 * {"version":"0","id":"7bf73129-…","detail-type":"EC2 Instance-launch Lifecycle Action","source":"aws.autoscaling",
 *  "account":"123456789012","time":"2021-01-19T00:35:52.359Z","region":"us-west-2","resources":["arn:…"],
 *  "detail":{"LifecycleActionToken":"19cc4d4a-…","AutoScalingGroupName":"my-asg",
 *   "LifecycleHookName":"my-launch-lifecycle-hook","EC2InstanceId":"i-1234567890abcdef0",
 *   "LifecycleTransition":"autoscaling:EC2_INSTANCE_LAUNCHING","NotificationMetadata":"additional-info",
 *   "Origin":"EC2","Destination":"AutoScalingGroup"}}
 * AWS may add fields: detail is parsed loosely, only what we use is required.
 */
const origin = z.enum(["EC2", "AutoScalingGroup", "WarmPool"]);

const lifecycleActionSchema = z.object({
  source: z.literal("aws.autoscaling"),
  time: z.optional(z.string()),
  "detail-type": z.literal(LAUNCH_LIFECYCLE_DETAIL_TYPE),
  detail: z.object({
    LifecycleActionToken: z.optional(z.string().check(z.minLength(1))),
    AutoScalingGroupName: z.string().check(z.minLength(1)),
    LifecycleHookName: z.string().check(z.minLength(1)),
    EC2InstanceId: z.string().check(z.regex(INSTANCE_ID)),
    LifecycleTransition: z.string(),
    Origin: z.optional(origin),
    Destination: z.optional(origin),
  }),
});

export const LAUNCHING_TRANSITION = "autoscaling:EC2_INSTANCE_LAUNCHING";

/** Converts an EventBridge lifecycle action into a LaunchEvent, or says precisely why it cannot. */
export function parseLifecycleAction(raw: unknown): LaunchEvent {
  const parsed = lifecycleActionSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    throw new InvalidInputError(
      `malformed lifecycle action event: ${formatIssues(parsed.error.issues).join("; ")}`,
    );
  }
  const { detail } = parsed.data;
  if (!detail.LifecycleActionToken) {
    // Auto Scaling sends a test notification without a token when a hook is created.
    throw new SkipEventError("lifecycle event without a token (test notification)", { detail });
  }
  if (detail.LifecycleTransition !== LAUNCHING_TRANSITION) {
    throw new SkipEventError("not a launch transition", { transition: detail.LifecycleTransition });
  }
  return {
    kind: "launch",
    instanceId: detail.EC2InstanceId,
    groupName: detail.AutoScalingGroupName,
    hookName: detail.LifecycleHookName,
    token: detail.LifecycleActionToken,
    origin: detail.Origin ?? "EC2",
    destination: detail.Destination ?? "AutoScalingGroup",
    waitStartedAt: parseTime(parsed.data.time),
  };
}

/** The event's ISO `time`, or undefined when absent or unreadable (the gate then counts from "now"). */
function parseTime(time: string | undefined): number | undefined {
  const ms = time === undefined ? Number.NaN : Date.parse(time);
  return Number.isNaN(ms) ? undefined : ms;
}
