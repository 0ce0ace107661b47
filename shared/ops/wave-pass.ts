import type { OpsDeps } from "./advance-operation.js";
import { followCommand, verifyHealth } from "./command-steps.js";
import { followDrain } from "./drain-first.js";
import { guarded } from "./lane-guard.js";
import type { Lane, LaneOutcome, OperationRecord } from "./operation.js";
import { stopLane } from "./operation-outcome.js";
import { startLane } from "./start-lane.js";

/**
 * One pass over an operation's wave: every lane that is due is moved on, one after the other, so each
 * start sees the drains begun before it. What one lane meets stays its own (lane-guard.ts), and a pass
 * takes no more lane steps than fit comfortably in one invocation of the operations function; the rest
 * follow in the next pass, at once.
 */

/** Lanes started in one pass at most (each costs a few calls). */
export const MAX_STARTS_PER_PASS = 5;
/** Lane steps taken in one pass at most. */
export const MAX_STEPS_PER_PASS = 10;

export type LanePass = { readonly lane: Lane; readonly outcome: LaneOutcome };

export async function passOverWave(deps: OpsDeps, op: OperationRecord): Promise<LanePass[]> {
  const passes: LanePass[] = [];
  let starts = 0;
  let steps = 0;
  for (const [position, lane] of op.wave.entries()) {
    const now = deps.now();
    const stopped =
      op.results.some((result) => result.outcome === "failed") ||
      passes.some(({ outcome }) => outcome.kind === "finished" && outcome.result.outcome === "failed");
    const full = steps >= MAX_STEPS_PER_PASS || (lane.step === "starting" && starts >= MAX_STARTS_PER_PASS);
    let outcome: LaneOutcome;
    if (passes.some(({ outcome }) => outcome.kind === "deferred")) outcome = { kind: "deferred" };
    else if (stopped && (lane.step === "starting" || lane.step === "draining"))
      outcome = await guarded(deps, op, lane, () => notRun(deps, op, lane, position));
    else if ((lane.dueAt ?? 0) > now)
      outcome = { kind: "continue", lane, delaySeconds: ((lane.dueAt ?? 0) - now) / 1000 };
    else if (full) outcome = { kind: "continue", lane, delaySeconds: 0 };
    else {
      steps += 1;
      if (lane.step === "starting") starts += 1;
      const out = instancesOut(op, passes, position);
      const canDefer = deferrable(op, position);
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
 * Whether the lane can go back to the instances still to come: only as the exact tail of what was
 * taken (this lane and every one after it untouched, and no instance after it already ended), since
 * the operation keeps its place in `instanceIds` as a count.
 */
function deferrable(op: OperationRecord, position: number): boolean {
  const rest = op.wave.slice(position);
  const untouched = rest.every((lane) => lane.step === "starting" && !lane.errors);
  const at = op.instanceIds.indexOf(op.wave[position]?.instanceId ?? "");
  return untouched && at === op.index - rest.length;
}

/**
 * The other instances of the wave out of their target groups right now, or possibly so: drained by an
 * earlier pass or by a lane before this one in this pass, or a start that threw part-way.
 */
function instancesOut(op: OperationRecord, passes: readonly LanePass[], position: number): string[] {
  return op.wave.flatMap((lane, i) => {
    if (i === position) return [];
    const outcome = passes[i]?.outcome;
    const now = i < position ? (outcome?.kind === "continue" ? outcome.lane : undefined) : lane;
    const out = now?.current?.drained || (op.drainFirst && now?.step === "starting" && now.errors);
    return out && now ? [now.instanceId] : [];
  });
}

/**
 * A lane whose command was not sent when the operation stopped at a failed instance: never run. One
 * untouched goes back to the instances still to come ("not started" in the final table); one drained,
 * or a start that may have acted, is registered again and unlocked, and recorded as skipped.
 */
async function notRun(
  deps: OpsDeps,
  op: OperationRecord,
  lane: Lane,
  position: number,
): Promise<LaneOutcome> {
  if (lane.step === "starting" && !lane.errors && deferrable(op, position)) return { kind: "deferred" };
  return stopLane(deps, op, lane, "not run: the operation stopped at a failed instance", "skipped");
}
