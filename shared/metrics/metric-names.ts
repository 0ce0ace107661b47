/**
 * The metrics launchgate emits, in one place: the functions emit them (embedded metric format, through
 * Powertools) and the stack's dashboard and alarms read them by these same names and dimensions.
 */

/** CloudWatch namespace of every launchgate metric. */
export const METRIC_NAMESPACE = "launchgate";
/** Powertools adds this as the `service` dimension of every metric. */
export const METRIC_SERVICE = "launchgate";

export const METRIC = {
  /** A launch gate opened for a new wait (the lifecycle event, or the reconciler's adoption). */
  launchesStarted: "LaunchesStarted",
  /** The gate decided CONTINUE for a wait (counted once, when the decision is claimed). */
  launchesContinued: "LaunchesContinued",
  /** The gate decided ABANDON for a wait (counted once, when claimed); also per `reason` class. */
  launchesAbandoned: "LaunchesAbandoned",
  /** Our outcome did not apply: the hook had timed out or was completed by someone else. */
  outcomesNotApplied: "LaunchOutcomesNotApplied",
  /** Phase durations of a wait, emitted when it ends (seconds). */
  agentWaitSeconds: "AgentWaitSeconds",
  bootstrapSeconds: "BootstrapSeconds",
  healthWaitSeconds: "HealthWaitSeconds",
  /** From the lifecycle event to CONTINUE, for waits that serve traffic. */
  timeToInServiceSeconds: "TimeToInServiceSeconds",
  /** The reconciler did the work of a lost event or a dead chain; also per `action`. */
  reconcilerRescues: "ReconcilerRescues",
  /**
   * Looks a group's watch made (each one poll answering for every wait it serves, throttled or not),
   * emitted as each watch invocation ends, per `watch` (agent or health). Launches started in a period
   * and no agent looks in it or the next means no agent watch ran: waits then react at their own
   * chains' pace, about a minute, not seconds. (No health looks for minutes is normal: no watch runs
   * while the bootstraps do.)
   */
  watchLooks: "WatchLooks",
  /** A re-bootstrap or remediation operation ended; per `kind` and `outcome`. */
  operationsFinished: "OperationsFinished",
  /** Instances a remediation acted on; per `action` (restart or replace). */
  remediationActions: "RemediationActions",
  /** Instances a remediation would have acted on but refused to; also per `reason` class. */
  remediationRefusals: "RemediationRefusals",
} as const;

export type MetricName = (typeof METRIC)[keyof typeof METRIC];

/** Dimension names. Every metric has `group` (the Auto Scaling group); some add one more. */
export const DIMENSION = {
  group: "group",
  reason: "reason",
  action: "action",
  kind: "kind",
  outcome: "outcome",
  watch: "watch",
} as const;

/** Why a launch was abandoned, coarsely: what an operator looks at first. */
export type AbandonReasonClass = "agent" | "bootstrap" | "not-in-use" | "health" | "gate-timeout" | "other";

export const ABANDON_REASON_CLASSES: readonly AbandonReasonClass[] = [
  "agent",
  "bootstrap",
  "not-in-use",
  "health",
  "gate-timeout",
  "other",
];

/** The reconciler's actions that stand in for the event-driven gate. */
export type RescueAction =
  | "adopted"
  | "completion-resumed"
  | "kicked"
  | "decided-at-deadline"
  // a drain started for an instance whose terminate event was lost (shared/drain/rescue.ts)
  | "drain-rescued";

/** Why remediation refused to act on an instance. */
export type RefusalReasonClass = "last-healthy" | "blast-radius" | "systemic" | "replacement-budget";
