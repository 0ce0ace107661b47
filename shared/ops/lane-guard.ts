import { awsErrorName, errorMessage, SkipEventError, StaleRecordError } from "../errors.js";
import type { OpsDeps } from "./advance-operation.js";
import type { Lane, LaneOutcome, OperationRecord } from "./operation.js";
import { stopLane } from "./operation-outcome.js";

/**
 * An error in one lane's step stays that lane's: the lane is kept where it was and looked at again
 * after a backoff (5, 10, 20, 40, 60 s …) — every step is safe to repeat — while the other lanes go on.
 * It gives up once LANE_ERROR_LIMIT errors came in a row (at once for an error that says the lane itself
 * is unusable), except while its command may still be running: an instance is never registered again,
 * or unlocked, under a bootstrap in flight, so such a lane waits for its command's deadline.
 *
 * Giving up is not a verdict on the instance: a re-bootstrap records it as failed (and stops), a
 * remediation skips the instance — an error reading its state must never climb the ladder to a restart
 * or a replacement.
 */

/** Consecutive errors after which a lane gives up (with the last error as its reason). */
export const LANE_ERROR_LIMIT = 8;
const MAX_BACKOFF_SECONDS = 60;

export async function guarded(
  deps: OpsDeps,
  op: OperationRecord,
  lane: Lane,
  step: () => Promise<LaneOutcome>,
): Promise<LaneOutcome> {
  try {
    const outcome = await step();
    // A step that went through after errors clears the count (and is worth saving).
    if (outcome.kind === "continue" && lane.errors)
      return { ...outcome, lane: { ...outcome.lane, errors: 0 } };
    return outcome;
  } catch (error) {
    // Another pass saved first: this one's view is stale, so nothing of it may be kept.
    if (error instanceof StaleRecordError) throw error;
    const errors = (lane.errors ?? 0) + 1;
    const detail = `${awsErrorName(error) || "Error"}: ${errorMessage(error)}`;
    const commandMayRun = lane.step === "running" && deps.now() < (lane.current?.stepDeadline ?? 0);
    if (error instanceof SkipEventError || (errors >= LANE_ERROR_LIMIT && !commandMayRun))
      return giveUp(
        deps,
        op,
        { ...lane, errors },
        `gave up on ${lane.instanceId} after ${errors} error(s) in a row at its ${lane.step} step: ${detail}`,
      );
    deps.log.warn("operation lane step failed; retried after a backoff", {
      operationId: op.operationId,
      instanceId: lane.instanceId,
      step: lane.step,
      errors,
      error: detail,
    });
    const delaySeconds = Math.min(MAX_BACKOFF_SECONDS, 5 * 2 ** (errors - 1));
    return { kind: "continue", lane: { ...lane, errors }, delaySeconds };
  }
}

/**
 * Ends a lane that kept meeting errors. Its clean-up (registering it again, unlocking) can fail in
 * turn: then the lane still ends, failed, and its reason says what was left undone.
 */
async function giveUp(deps: OpsDeps, op: OperationRecord, lane: Lane, reason: string): Promise<LaneOutcome> {
  const outcome = op.kind === "remediate" ? "skipped" : "failed";
  try {
    return await stopLane(deps, op, lane, reason, outcome);
  } catch (error) {
    const undone = `${reason}; its clean-up failed too (${awsErrorName(error) || "Error"}: ${errorMessage(error)}): it may still be out of its target groups and locked until the lock expires`;
    deps.log.error(`${op.kind}: could not clean up after giving up on an instance`, {
      operationId: op.operationId,
      instanceId: lane.instanceId,
      reason: undone,
    });
    return { kind: "finished", result: { instanceId: lane.instanceId, outcome: "failed", reason: undone } };
  }
}
