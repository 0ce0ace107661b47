import { RecordLifecycleActionHeartbeatCommand } from "@aws-sdk/client-auto-scaling";
import type { RuntimeGroup } from "../config/runtime-config.js";
import { errorMessage, StaleRecordError } from "../errors.js";
import type { DrainDeps } from "./drain.js";
import type { DrainRecord } from "./record.js";

/**
 * The reconciler's part in the drain: an instance of a draining group found in `Terminating:Wait` with
 * no drain recorded lost its terminate event (EventBridge delivers best-effort). Without a rescue it
 * would sit there, undrained, until the hook's heartbeat timeout applies CONTINUE. The rescue records a
 * drain the way the event would have (the same record and its conditional write: a drain is started
 * once, whoever comes first) and hands it to the launch function's drain re-check, which sends the
 * command and completes the hook — by instance id, as no token is known.
 */

export const RESCUE_REASON = "rescued: terminate event never arrived";

/**
 * A finished drain this recent still explains a `Terminating:Wait`: its completion was sent, and
 * Describe* catch up within seconds. Older than this, the instance waits again (back from a warm pool).
 */
export const DRAIN_DONE_GRACE_SECONDS = 300;

/** A drain not finished this long after its limit has lost its re-check chain (a crash): kick it. */
export const DRAIN_STALL_SECONDS = 60;

export type DrainRescueAction =
  | "drain-rescued"
  | "drain-kicked"
  | "drain-in-progress"
  | "drain-finished"
  | "stopped";

export interface DrainRescueOutcome {
  readonly action: DrainRescueAction;
  readonly detail?: string;
}

/** One instance of `group` (which drains) seen in `Terminating:Wait`: make sure a drain drives it. */
export async function rescueDrain(
  deps: DrainDeps,
  group: RuntimeGroup,
  instanceId: string,
): Promise<DrainRescueOutcome> {
  const drain = group.drain;
  if (!drain) return { action: "stopped", detail: "the group does not drain" };
  const now = deps.now();
  const existing = await deps.drains.load(instanceId);
  if (existing && existing.phase !== "done") {
    if (!stalled(existing, now)) return { action: "drain-in-progress", detail: existing.phase };
    await deps.rechecks.schedule(existing.instanceId, existing.token, 0);
    return { action: "drain-kicked", detail: `${existing.phase}: past its limit and not finished` };
  }
  if (existing?.finishedAt !== undefined && now - existing.finishedAt < DRAIN_DONE_GRACE_SECONDS * 1000) {
    return { action: "drain-finished", detail: `${existing.outcome}: its completion is on its way` };
  }
  // Heartbeat first: it proves our drain hook holds the instance (another terminate hook may), and
  // restarts the hook's timeout, so the drain's limit can count from now.
  try {
    await deps.autoScaling.send(
      new RecordLifecycleActionHeartbeatCommand({
        AutoScalingGroupName: group.name,
        LifecycleHookName: drain.hookName,
        InstanceId: instanceId,
      }),
    );
  } catch (error) {
    if (!/No active Lifecycle Action found/i.test(errorMessage(error))) throw error;
    return { action: "stopped", detail: "not waiting at the drain hook" };
  }
  // When the wait began is unknown (no event): the limit counts from now, at most one reconciler
  // period after it really began.
  const record: DrainRecord = {
    instanceId,
    groupName: group.name,
    hookName: drain.hookName,
    token: `rescue:${instanceId}@${now}`,
    rescued: RESCUE_REASON,
    // Describe* does not say where the instance goes (terminated, or back to a warm pool): not guessed.
    // Either is drained the same way.
    destination: "unknown",
    phase: "sending",
    startedAt: now,
    deadline: now + drain.timeoutSeconds * 1000,
    lastHeartbeatAt: now,
    version: (existing?.version ?? 0) + 1,
  };
  try {
    await deps.drains.save(record, existing?.version ?? 0);
  } catch (error) {
    if (error instanceof StaleRecordError)
      return { action: "drain-in-progress", detail: "started meanwhile" };
    throw error;
  }
  deps.log.warn("drain rescued", { instanceId, reason: RESCUE_REASON, limitSeconds: drain.timeoutSeconds });
  // No send here: the re-check claims the send (sentAt unset) and sends at once.
  await deps.rechecks.schedule(instanceId, record.token, 0);
  return { action: "drain-rescued", detail: RESCUE_REASON };
}

function stalled(record: DrainRecord, now: number): boolean {
  return now - record.deadline > DRAIN_STALL_SECONDS * 1000;
}
