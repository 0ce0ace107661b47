import { SkipEventError } from "../errors.js";
import type { RegisteredTarget } from "../gate/record.js";
import { deregisterAll, observeHealth } from "../gate/target-health.js";
import type { OpsDeps } from "./advance-operation.js";
import { sendCommand } from "./command-steps.js";
import {
  type CurrentInstance,
  type Lane,
  type LaneOutcome,
  type OperationRecord,
  startedInstance,
} from "./operation.js";
import { readTargetGroupHealth } from "./remediation/outage.js";

/**
 * Drain-first maintenance: an instance leaves every target group before its command runs, so the load
 * balancer stops sending it new requests and lets open ones finish (its deregistration delay), and it
 * comes back only through a fresh registration and passing health checks. Never the last healthy
 * target of a target group, unless the operation was told how to keep serving (surge) or to accept
 * downtime (force).
 */

/** How often a drain is looked at: the load balancer may end it early, when no request is left. */
export const DRAIN_PACE_SECONDS = 10;

/** Safety bound on the wait for draining: the longest deregistration delay a target group can have. */
const MAX_DRAIN_SECONDS = 3600;

/**
 * The target groups in which this instance is the only healthy target, not counting `alsoOut` (the
 * instances this operation has taken out already): the load balancer may still report a target it was
 * just told to deregister as healthy, so the operation's own drains are subtracted, not read back.
 */
export async function lastHealthyIn(
  deps: OpsDeps,
  instanceId: string,
  targets: readonly RegisteredTarget[],
  alsoOut: readonly string[] = [],
): Promise<string[]> {
  const health = await readTargetGroupHealth(
    deps,
    targets.map((target) => target.targetGroupArn),
  );
  return health
    .filter((tg) => {
      const serving = [...tg.healthyIds].filter((id) => !alsoOut.includes(id));
      return serving.length === 1 && serving[0] === instanceId;
    })
    .map((tg) => tg.name);
}

/** Takes the instance out of every target group; the drain lasts until the load balancer ends it. */
export async function beginDrain(
  deps: OpsDeps,
  instanceId: string,
  targets: readonly RegisteredTarget[],
  drainSeconds: number | undefined,
  now: number,
): Promise<CurrentInstance> {
  await deregisterAll(deps, instanceId, targets);
  deps.log.info("draining before maintenance", {
    instanceId,
    targetGroups: targets.map((target) => target.name),
    drainSeconds: drainSeconds ?? "deregistration delay",
  });
  return {
    instanceId,
    startedAt: now,
    targets,
    drained: true,
    stepDeadline: now + (drainSeconds ?? MAX_DRAIN_SECONDS) * 1000,
  };
}

/**
 * Where the drain is: over once no target group reports the instance `draining` (the load balancer
 * ended it: the delay passed, or no request was left); cut short when the requested limit passed first.
 */
export async function drainState(
  deps: OpsDeps,
  current: CurrentInstance,
  now: number,
): Promise<"draining" | "drained" | "cut-short"> {
  const observations = await observeHealth(deps, current.instanceId, current.targets);
  if (observations.every((observation) => observation.state !== "draining")) return "drained";
  return now >= (current.stepDeadline ?? now) ? "cut-short" : "draining";
}

/** Waits for the load balancer to end the drain (or the requested limit), then sends the command. */
export async function followDrain(deps: OpsDeps, op: OperationRecord, lane: Lane): Promise<LaneOutcome> {
  const current = startedInstance(lane);
  const group = deps.config.groups.find((g) => g.name === op.groupName);
  if (!group) throw new SkipEventError("group is no longer configured", { groupName: op.groupName });
  const state = await drainState(deps, current, deps.now());
  if (state === "draining") return { kind: "continue", lane, delaySeconds: DRAIN_PACE_SECONDS };
  return sendCommand(deps, op, group, { ...current, drainCutShort: state === "cut-short" });
}
