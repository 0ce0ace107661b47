import type { DescribeAlarmsCommandInput, DescribeAlarmsCommandOutput } from "@aws-sdk/client-cloudwatch";
import { ALARM_STATE_CHANGE_DETAIL_TYPE } from "../../shared/events/patterns.js";
import type { WorldContext } from "../world-context.js";

/**
 * SIMULATION — CloudWatch alarms, evaluated every 60 s period: on a target group's UnHealthyHostCount
 * (Maximum), breaching with at least one unhealthy target; or on one instance's metric (dimension
 * InstanceId), breaching while the scenario says so. ALARM after `datapoints` consecutive breaching
 * periods, OK after one period that does not breach. Each transition is an EventBridge "CloudWatch Alarm State Change" (delivery guaranteed,
 * docs/aws-facts.md, events). The period and datapoints are the model's choice, like an operator's alarm settings.
 */

export type AlarmSource =
  | { readonly kind: "target-group"; readonly targetGroupName: string; readonly dimension: string }
  | { readonly kind: "instance"; readonly instanceId: string; readonly breaching: () => boolean }
  /** A composite alarm whose rule is ALARM(a) OR ALARM(b) …: in ALARM while any child is, evaluated after them. */
  | { readonly kind: "composite"; readonly children: readonly string[] };

export interface SimAlarm {
  readonly name: string;
  readonly source: AlarmSource;
  readonly datapoints: number;
  state: "OK" | "ALARM";
  breaching: number;
  transitions: number;
}

const PERIOD_MS = 60_000;

export class CloudWatchModel {
  readonly alarms = new Map<string, SimAlarm>();

  constructor(
    private readonly world: WorldContext,
    private readonly unhealthyCount: (targetGroupName: string) => number,
    private readonly emit: (event: Record<string, unknown>) => void,
  ) {}

  addAlarm(alarm: Omit<SimAlarm, "state" | "breaching" | "transitions">): void {
    this.alarms.set(alarm.name, { ...alarm, state: "OK", breaching: 0, transitions: 0 });
  }

  /** Evaluates every alarm each period while `active()` says the world still has something going on. */
  start(active: () => boolean): void {
    const tick = () => {
      const more = active();
      const alarms = [...this.alarms.values()];
      for (const alarm of alarms) if (alarm.source.kind !== "composite") this.evaluate(alarm);
      for (const alarm of alarms) if (alarm.source.kind === "composite") this.evaluate(alarm);
      if (more) this.world.clock.after(PERIOD_MS, tick, { background: true });
    };
    if (this.alarms.size > 0) this.world.clock.after(PERIOD_MS, tick, { background: true });
  }

  /** As CloudWatch answers: without AlarmTypes, metric alarms only (docs/aws-facts.md, alarms). */
  describeAlarms(input: DescribeAlarmsCommandInput): DescribeAlarmsCommandOutput {
    const types = input.AlarmTypes ?? ["MetricAlarm"];
    const alarms = (input.AlarmNames ?? [])
      .map((name) => this.alarms.get(name))
      .filter((a) => a !== undefined);
    const described = (composite: boolean) =>
      alarms
        .filter((a) => (a.source.kind === "composite") === composite)
        .map((a) => ({ AlarmName: a.name, StateValue: a.state }));
    return {
      $metadata: {},
      MetricAlarms: types.includes("MetricAlarm") ? described(false) : [],
      CompositeAlarms: types.includes("CompositeAlarm") ? described(true) : [],
    };
  }

  private evaluate(alarm: SimAlarm): void {
    const { source } = alarm;
    const breaching =
      source.kind === "target-group"
        ? this.unhealthyCount(source.targetGroupName) > 0
        : source.kind === "composite"
          ? source.children.some((child) => this.alarms.get(child)?.state === "ALARM")
          : source.breaching();
    alarm.breaching = breaching ? alarm.breaching + 1 : 0;
    // A composite alarm has no datapoints of its own: it follows its rule at once.
    const datapoints = source.kind === "composite" ? 1 : alarm.datapoints;
    const next = alarm.breaching >= datapoints ? "ALARM" : breaching ? alarm.state : "OK";
    const unhealthy = source.kind === "target-group" ? this.unhealthyCount(source.targetGroupName) : 0;
    if (next === alarm.state) return;
    const previous = alarm.state;
    alarm.state = next;
    alarm.transitions += 1;
    const why =
      source.kind === "target-group"
        ? `${unhealthy} unhealthy`
        : source.kind === "composite"
          ? `rule over ${source.children.join(", ")}`
          : `instance ${source.instanceId}`;
    this.world.note("events", `alarm ${alarm.name}: ${previous} → ${next} (${why})`);
    this.emit({
      version: "0",
      id: `${this.world.random.hex(8)}-alarm`,
      "detail-type": ALARM_STATE_CHANGE_DETAIL_TYPE,
      source: "aws.cloudwatch",
      account: "123456789012",
      time: new Date(this.world.clock.now()).toISOString(),
      region: "eu-west-2",
      resources: [`arn:aws:cloudwatch:eu-west-2:123456789012:alarm:${alarm.name}`],
      detail: {
        alarmName: alarm.name,
        state: {
          value: next,
          reason: source.kind === "target-group" ? `${unhealthy} unhealthy target(s)` : "threshold crossed",
          timestamp: new Date(this.world.clock.now()).toISOString(),
        },
        previousState: { value: previous },
        configuration: configurationOf(source),
      },
    });
  }
}

/** The alarm's configuration as its state-change event carries it: its metric, or a composite's rule. */
function configurationOf(source: AlarmSource): Record<string, unknown> {
  if (source.kind === "composite") {
    return { alarmRule: source.children.map((child) => `ALARM("${child}")`).join(" OR ") };
  }
  const metric =
    source.kind === "target-group"
      ? {
          namespace: "AWS/ApplicationELB",
          name: "UnHealthyHostCount",
          dimensions: { TargetGroup: source.dimension },
        }
      : { namespace: "CWAgent", name: "app_errors", dimensions: { InstanceId: source.instanceId } };
  return {
    metrics: [{ id: "m1", metricStat: { metric, period: 60, stat: "Maximum" }, returnData: true }],
  };
}
