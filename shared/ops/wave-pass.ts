import { awsErrorName, errorMessage, SkipEventError } from "../errors.js";
import type { OpsDeps } from "./advance-operation.js";
import { followCommand, verifyHealth } from "./command-steps.js";
import { followDrain } from "./drain-first.js";
import type { Lane, LaneOutcome, OperationRecord } from "./operation.js";
import { failLane } from "./operation-outcome.js";
import { startLane } from "./start-lane.js";

/**
 * One pass over an operation's wave: every lane that is due is moved on, one after the other, so each
 * start sees the drains begun before it. What one lane meets stays its own: an error backs that lane
 * off (and fails it once it keeps failing) while the others go on, and the pass never holds more
 * starts than fit comfortably in one invocation.
 */

/** Lanes started in one pass at most (each costs a few calls); the rest start in the next, at once. */
export const MAX_STARTS_PER_PASS = 5;
/** Consecutive errors after which a lane fails (with the last error as its reason). */
export const LANE_ERROR_LIMIT = 8;

export type LanePass = { readonly lane: Lane; readonly outcome: LaneOutcome };

export async function passOverWave(deps: OpsDeps, op: OperationRecord): Promise<LanePass[]> {
  const passes: LanePass[] = [];
  let starts = 0;
  for (const [position, lane] of op.wave.entries()) {
    const now = deps.now();
    // Put off to the next wave only as a tail (the instances keep their order); once one is, so are
    // the lanes after it.
    const canDefer = op.wave.slice(position + 1).every((later) => later.step === "starting");
    const stopped =
      op.results.some((result) => result.outcome === "failed") ||
      passes.some(({ outcome }) => outcome.kind === "finished" && outcome.result.outcome === "failed");
    let outcome: LaneOutcome;
    if (passes.some(({ outcome }) => outcome.kind === "deferred")) outcome = { kind: "deferred" };
    else if (lane.step === "starting" && stopped) outcome = notStarted(lane, canDefer);
    else if ((lane.dueAt ?? 0) > now)
      outcome = { kind: "continue", lane, delaySeconds: ((lane.dueAt ?? 0) - now) / 1000 };
    else if (lane.step === "starting" && starts >= MAX_STARTS_PER_PASS)
      outcome = { kind: "continue", lane, delaySeconds: 0 };
    else {
      if (lane.step === "starting") starts += 1;
      const out = instancesOut(op.wave, passes, position);
      outcome = await guarded(deps, op, lane, () => advanceLane(deps, op, lane, out, canDefer));
    }
    passes.push({ lane, outcome });
  }
  return passes;
}

/** Moves one instance of the wave on from where it is. */
function advanceLane(
  deps: OpsDeps,
  op: OperationRecord,
  lane: Lane,
  othersOut: readonly string[],
  canDefer: boolean,
): Promise<LaneOutcome> {
  if (lane.step === "starting") return startLane(deps, op, lane, othersOut, canDefer);
  if (lane.step === "draining") return followDrain(deps, op, lane);
  if (lane.step === "running") return followCommand(deps, op, lane);
  return verifyHealth(deps, op, lane);
}

/**
 * The other instances of the wave out of their target groups right now: drained by an earlier pass,
 * or by a lane before this one in this pass.
 */
function instancesOut(wave: readonly Lane[], passes: readonly LanePass[], position: number): string[] {
  return wave.flatMap((lane, i) => {
    if (i === position) return [];
    const outcome = passes[i]?.outcome;
    const now = i < position ? (outcome?.kind === "continue" ? outcome.lane : undefined) : lane;
    return now?.current?.drained ? [now.instanceId] : [];
  });
}

/** A lane not yet started when the operation stopped at a failure: never started. */
function notStarted(lane: Lane, canDefer: boolean): LaneOutcome {
  if (canDefer) return { kind: "deferred" };
  return {
    kind: "finished",
    result: {
      instanceId: lane.instanceId,
      outcome: "skipped",
      reason: "not started: the operation stopped at a failed instance",
    },
  };
}

/**
 * Runs one lane's step; an error stays that lane's. The lane is kept where it was and looked at again
 * after a backoff (5, 10, 20, 40, 60 s …) — every step is safe to repeat — and fails once it has met
 * LANE_ERROR_LIMIT errors in a row, or at once for an error that says the lane itself is unusable.
 */
async function guarded(
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
    const errors = (lane.errors ?? 0) + 1;
    const detail = `${awsErrorName(error)}: ${errorMessage(error)}`;
    if (error instanceof SkipEventError || errors >= LANE_ERROR_LIMIT) {
      return failLane(
        deps,
        op,
        lane,
        `gave up on ${lane.instanceId} after ${errors} error(s) in a row at its ${lane.step} step: ${detail}`,
      );
    }
    deps.log.warn("operation lane step failed; retried after a backoff", {
      operationId: op.operationId,
      instanceId: lane.instanceId,
      step: lane.step,
      errors,
      error: detail,
    });
    return { kind: "continue", lane: { ...lane, errors }, delaySeconds: Math.min(60, 5 * 2 ** (errors - 1)) };
  }
}
