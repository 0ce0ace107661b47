import * as z from "zod/mini";
import { formatIssues } from "../config/format-issues.js";
import { InvalidInputError, SkipEventError } from "../errors.js";
import { ALARM_STATE_CHANGE_DETAIL_TYPE } from "./patterns.js";

/*
 * Sample (docs/aws-facts.md, events):
 * {"source":"aws.cloudwatch","detail-type":"CloudWatch Alarm State Change","time":"2026-11-28T06:00:00Z",
 *  "detail":{"alarmName":"cnt-backend-unhealthy-hosts","state":{"value":"ALARM","reason":"Threshold Crossed…",
 *   "timestamp":"2026-11-28T06:00:00.000+0000"},"previousState":{"value":"OK"},
 *   "configuration":{"metrics":[{"id":"m1","metricStat":{"metric":{"namespace":"AWS/ApplicationELB",
 *    "name":"UnHealthyHostCount","dimensions":{"TargetGroup":"targetgroup/cnt-backend-tg/6d0ecf831eec9f09",
 *    "LoadBalancer":"app/cnt-alb/50dc6c495c0c9188"}},"period":60,"stat":"Maximum"},"returnData":true}]}}}
 */
const metricSchema = z.object({
  metricStat: z.optional(
    z.object({
      metric: z.object({
        namespace: z.optional(z.string()),
        name: z.optional(z.string()),
        dimensions: z.optional(z.record(z.string(), z.string())),
      }),
    }),
  ),
});

const alarmSchema = z.object({
  source: z.literal("aws.cloudwatch"),
  "detail-type": z.literal(ALARM_STATE_CHANGE_DETAIL_TYPE),
  detail: z.object({
    alarmName: z.string().check(z.minLength(1)),
    state: z.object({ value: z.string(), reason: z.optional(z.string()) }),
    configuration: z.optional(z.object({ metrics: z.optional(z.array(metricSchema)) })),
  }),
});

export interface AlarmEvent {
  readonly kind: "alarm";
  readonly alarmName: string;
  readonly reason: string;
  /** Instance ids named by the alarm's metrics (InstanceId dimension). */
  readonly instanceIds: readonly string[];
  /** Target groups named by the alarm's metrics (TargetGroup dimension, "targetgroup/NAME/ID"). */
  readonly targetGroupNames: readonly string[];
}

export function parseAlarm(raw: unknown): AlarmEvent {
  const parsed = alarmSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success)
    throw new InvalidInputError(`malformed alarm event: ${formatIssues(parsed.error.issues).join("; ")}`);
  const { detail } = parsed.data;
  if (detail.state.value !== "ALARM")
    throw new SkipEventError("alarm is not in ALARM", { state: detail.state.value });
  const dimensions = (detail.configuration?.metrics ?? []).map((m) => m.metricStat?.metric.dimensions ?? {});
  return {
    kind: "alarm",
    alarmName: detail.alarmName,
    reason: detail.state.reason ?? "",
    instanceIds: dimensions.map((d) => d.InstanceId ?? "").filter(Boolean),
    targetGroupNames: dimensions.map((d) => d.TargetGroup?.split("/")[1] ?? "").filter(Boolean),
  };
}
