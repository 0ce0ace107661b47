import type { RuntimeGroup } from "../config/runtime-config.js";
import type { DrainRescueAction } from "../drain/rescue.js";
import { claimLeasePassed } from "./active-wait.js";
import type { GateDeps } from "./deps.js";
import { resumeCompletion } from "./finish.js";
import { finishPastDeadline } from "./health-gate.js";
import { recheckCeilingSeconds } from "./heartbeat-timing.js";
import { keepAlive, scheduleRecheck } from "./keep-alive.js";
import { CHAIN_STEP_FOR_PHASE } from "./ports.js";
import type { GateRecord } from "./record.js";
import { adoptWhenDue, sight } from "./sighting.js";

/**
 * What the reconciler does for one instance waiting at a launch hook (see reconcile.ts): make sure
 * something drives the wait to an outcome, without racing the event-driven gate that normally does.
 */

export type ReconcileAction =
  | "sighted"
  | "adopted"
  | "completion-resumed"
  | "abandoned"
  | "continued"
  | "kicked"
  | "heartbeat"
  | "in-progress"
  | "stopped"
  | "deferred"
  | "error"
  // An instance leaving a draining group (shared/drain/rescue.ts).
  | DrainRescueAction;

export interface WaitOutcome {
  readonly action: ReconcileAction;
  readonly detail?: string;
}

/** A waiting instance as the reconciler found it: its lifecycle state and its record, if any. */
export interface FoundWait {
  readonly instanceId: string;
  readonly state: string;
  readonly record: GateRecord | undefined;
}

/** Beyond the heartbeat ceiling: a re-check's pace (≤ 60 s), SQS visibility (180 s), and slack. */
const STALL_SLACK_SECONDS = 300;

export async function reconcileWait(
  deps: GateDeps,
  group: RuntimeGroup,
  wait: FoundWait,
): Promise<WaitOutcome> {
  let record = wait.record;
  // What the placeholder may replace: the record as read, unless resuming it wrote a newer version.
  let basis: { seen: GateRecord | undefined } | undefined = { seen: wait.record };
  if (record && (record.phase === "continued" || record.phase === "abandoned")) {
    const resumed = await resumeClaimWhenDue(deps, record);
    if (resumed) return resumed;
    record = undefined; // that wait had ended: the instance is in a new wait we have no record of
    basis = undefined;
  }
  if (!record || record.phase === "gone") return sight(deps, group, wait.instanceId, wait.state, basis);
  if (record.phase === "sighted") return adoptWhenDue(deps, group, record);
  if (deps.now() > record.deadline) {
    // Waiting for health, it may have turned healthy since the last re-check: that continues.
    const outcome = await finishPastDeadline(deps, record, group);
    return { action: outcome === "CONTINUE" ? "continued" : "abandoned", detail: record.phase };
  }
  const stalled = chainStalled(record, deps.now(), group);
  const kept = await keepAlive(deps, record, group.heartbeatTimeoutSeconds, { by: "reconciler" });
  const step = CHAIN_STEP_FOR_PHASE[record.phase];
  if (stalled && step) {
    // Read at the run's start, perhaps many seconds ago (a run under throttling is slow): a chain that
    // moved the wait since is alive after all — kicking it would start a second one. One read, on the
    // rare stalled wait only.
    const stored = await deps.store.load(record.instanceId);
    if (stored?.token !== record.token || stored.version !== record.version)
      return { action: "in-progress", detail: `${record.phase}: moved on while the reconciler looked` };
    await scheduleRecheck(deps, kept, step, 0, group, kept.commandId);
    return { action: "kicked", detail: `${record.phase}: no progress for over ${stallSeconds(group)} s` };
  }
  return { action: kept === record ? "in-progress" : "heartbeat", detail: record.phase };
}

/**
 * An outcome claimed while the hook still waits. Within the lease the claimer is (most likely) about to
 * deliver it: leave it alone. After it, deliver it. Undefined: the claimed wait had ended after all.
 */
async function resumeClaimWhenDue(deps: GateDeps, record: GateRecord): Promise<WaitOutcome | undefined> {
  const claimedMs = deps.now() - record.phaseStartedAt;
  if (!claimLeasePassed(record, deps.now())) {
    const ago = Math.round(claimedMs / 1000);
    return { action: "in-progress", detail: `${record.outcome} claimed ${ago} s ago; being delivered` };
  }
  const result = await resumeCompletion(deps, record);
  if (result === "completed") return { action: "completion-resumed", detail: record.outcome };
  if (result === "completed-elsewhere")
    return { action: "stopped", detail: `${record.outcome} already applied` };
  return undefined;
}

/**
 * Nothing has moved the wait for too long: no phase change and no heartbeat by the chain itself. The
 * reconciler's own heartbeats do not count, or keeping the hook alive would hide the dead chain.
 */
export function chainStalled(
  record: Pick<GateRecord, "phaseStartedAt" | "chainSeenAt">,
  now: number,
  group: RuntimeGroup,
): boolean {
  const lastSign = Math.max(record.phaseStartedAt, record.chainSeenAt ?? 0);
  return now - lastSign > stallSeconds(group) * 1000;
}

function stallSeconds(group: RuntimeGroup): number {
  return recheckCeilingSeconds(group.heartbeatTimeoutSeconds) + STALL_SLACK_SECONDS;
}
