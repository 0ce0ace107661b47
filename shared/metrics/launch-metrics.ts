import { isGateDeadlineReason } from "../gate/reasons.js";
import type { GatePhase, GateRecord } from "../gate/record.js";
import { type AbandonReasonClass, DIMENSION, METRIC, type RescueAction } from "./metric-names.js";
import type { MetricDatum } from "./sink.js";

/**
 * What a launch gate's milestones emit, as pure functions of the record: the caller hands the data to
 * its sink. Durations come from the record's history, which keeps every phase change (heartbeats add
 * no lines), so they are exact whichever invocation ends the wait.
 */

const byGroup = (groupName: string) => ({ [DIMENSION.group]: groupName });

export function launchStartedMetrics(groupName: string): MetricDatum[] {
  return [{ name: METRIC.launchesStarted, unit: "Count", value: 1, dimensions: byGroup(groupName) }];
}

/** A decided wait: the outcome count, and how long each phase the wait went through took. */
export function launchCompletedMetrics(record: GateRecord, now: number): MetricDatum[] {
  const dimensions = byGroup(record.groupName);
  const data: MetricDatum[] = [];
  if (record.outcome === "CONTINUE") {
    data.push({ name: METRIC.launchesContinued, unit: "Count", value: 1, dimensions });
    if (record.mode.needsTraffic) {
      data.push({
        name: METRIC.timeToInServiceSeconds,
        unit: "Seconds",
        value: seconds(now - record.startedAt),
        dimensions,
      });
    }
  } else {
    data.push({
      name: METRIC.launchesAbandoned,
      unit: "Count",
      value: 1,
      dimensions,
      alsoBy: { [DIMENSION.reason]: abandonReasonClass(record) },
    });
  }
  for (const [name, from, to] of PHASE_SPANS) {
    const span = spanSeconds(record, from, to);
    if (span !== undefined) data.push({ name, unit: "Seconds", value: span, dimensions });
  }
  return data;
}

/** Our outcome did not take effect: the hook had ended by timeout or by someone else. */
export function outcomeNotAppliedMetrics(record: GateRecord): MetricDatum[] {
  return [
    { name: METRIC.outcomesNotApplied, unit: "Count", value: 1, dimensions: byGroup(record.groupName) },
  ];
}

/**
 * One watch invocation's looks (run-watch.ts), per group and kind of watch: what shows the watch alive.
 * Only per kind: nothing reads a sum of agent and health looks, and each series is a custom metric.
 */
export function watchLookMetrics(groupName: string, watch: "agent" | "health", looks: number): MetricDatum[] {
  return [
    {
      name: METRIC.watchLooks,
      unit: "Count",
      value: looks,
      dimensions: { ...byGroup(groupName), [DIMENSION.watch]: watch },
    },
  ];
}

export function rescueMetrics(groupName: string, action: RescueAction): MetricDatum[] {
  return [
    {
      name: METRIC.reconcilerRescues,
      unit: "Count",
      value: 1,
      dimensions: byGroup(groupName),
      alsoBy: { [DIMENSION.action]: action },
    },
  ];
}

/**
 * The phase an abandoned wait was in, and for the health phase whether the load balancer could not use
 * the target at all (Target.NotInUse). The overall deadline is a class of its own: it says the gate's
 * budget, not one step, ran out.
 */
export function abandonReasonClass(record: GateRecord): AbandonReasonClass {
  const reason = record.reason ?? "";
  if (isGateDeadlineReason(reason)) return "gate-timeout";
  switch (phaseBeforeOutcome(record)) {
    case "sighted":
    case "awaiting-agent":
      return "agent";
    case "sending-command":
    case "bootstrapping":
      return "bootstrap";
    case "awaiting-health":
      return /Target\.NotInUse/.test(reason) ? "not-in-use" : "health";
    default:
      return "other";
  }
}

/** Which phase's start to which phase's start each duration measures. */
const PHASE_SPANS: readonly (readonly [MetricDatum["name"], GatePhase, GatePhase])[] = [
  [METRIC.agentWaitSeconds, "awaiting-agent", "sending-command"],
  [METRIC.bootstrapSeconds, "sending-command", "awaiting-health"],
  [METRIC.healthWaitSeconds, "awaiting-health", "continued"],
];

function spanSeconds(record: GateRecord, from: GatePhase, to: GatePhase): number | undefined {
  const start = record.history.find((entry) => entry.phase === from)?.at;
  const end = record.history.find((entry) => entry.phase === to)?.at;
  return start === undefined || end === undefined || end < start ? undefined : seconds(end - start);
}

function phaseBeforeOutcome(record: GateRecord): GatePhase | undefined {
  const live = record.history.filter((entry) => entry.phase !== "abandoned" && entry.phase !== "continued");
  return live.at(-1)?.phase;
}

function seconds(ms: number): number {
  return Math.round(ms / 100) / 10;
}
