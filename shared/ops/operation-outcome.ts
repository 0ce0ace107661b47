import type { RegisteredTarget } from "../gate/record.js";
import { discoverTargetGroups } from "../gate/target-groups.js";
import { registerTargets } from "../gate/target-health.js";
import { emitAll } from "../metrics/emit.js";
import { operationFinishedMetrics } from "../metrics/operation-metrics.js";
import type { OpsDeps } from "./advance-operation.js";
import type { Lane, LaneOutcome, OperationRecord } from "./operation.js";
import { restoreSurge } from "./surge.js";

/** How one instance of a wave ends — failed, stopped — and how the operation's next step is scheduled. */

/**
 * The lane's step failed. A re-bootstrap records why (and the operation starts no instance after it).
 * A remediation climbs to the ladder's next rung for the same instance, at once.
 */
export async function failLane(
  deps: OpsDeps,
  op: OperationRecord,
  lane: Lane,
  reason: string,
): Promise<LaneOutcome> {
  if (op.kind !== "remediate") return stopLane(deps, op, lane, reason);
  deps.log.warn("remediation restart did not restore health; next rung", {
    operationId: op.operationId,
    instanceId: lane.instanceId,
    reason,
  });
  await deps.operations.unlock(lane.instanceId, op.operationId);
  return {
    kind: "continue",
    lane: { instanceId: lane.instanceId, step: "starting", retrying: true },
    delaySeconds: 0,
  };
}

export async function recordRestart(
  deps: OpsDeps,
  op: OperationRecord,
  instanceId: string,
  now: number,
): Promise<void> {
  const history = await deps.operations.loadHistory(instanceId);
  await deps.operations.saveHistory(instanceId, {
    restarts: [...history.restarts, now],
    lastActionAt: now,
    lastOperationId: op.operationId,
  });
}

/**
 * Ends the lane with `outcome` (failed: the operation starts no instance after it). A drained instance
 * is registered again first: never InService yet out of every target group, unjudged — the load
 * balancer's checks decide whether it serves, and with ELB health checks Auto Scaling replaces it if it
 * does not. A start that met errors may have begun deregistering before it threw, so such a lane is
 * registered again too (registering a registered target changes nothing).
 */
export async function stopLane(
  deps: OpsDeps,
  op: OperationRecord,
  lane: Lane,
  reason: string,
  outcome: "failed" | "skipped" = "failed",
): Promise<LaneOutcome> {
  const { instanceId, current } = lane;
  const targets =
    current?.drained && lane.step !== "verifying" ? current.targets : await startTouched(deps, op, lane);
  if (targets.length > 0) await registerTargets(deps, instanceId, targets);
  const said = { operationId: op.operationId, instanceId, reason };
  if (outcome === "failed") deps.log.error(`${op.kind}: ${instanceId} failed`, said);
  else deps.log.warn(`${op.kind}: ${instanceId} skipped`, said);
  await deps.operations.unlock(instanceId, op.operationId);
  return {
    kind: "finished",
    result: {
      instanceId,
      outcome,
      ...(current?.commandId ? { commandId: current.commandId } : {}),
      reason:
        targets.length > 0
          ? `${reason} (registered again: its health checks decide whether it serves)`
          : reason,
    },
  };
}

/** The target groups a start that threw may have taken the instance out of (drain-first only). */
async function startTouched(
  deps: OpsDeps,
  op: OperationRecord,
  lane: Lane,
): Promise<readonly RegisteredTarget[]> {
  if (lane.step !== "starting" || !lane.errors || !op.drainFirst) return [];
  const group = deps.config.groups.find((g) => g.name === op.groupName);
  if (!group) return [];
  const discovery = await discoverTargetGroups(deps, group);
  return discovery.ok ? discovery.targets : [];
}

/** Saves an operation that just ended — its surge undone first — and says so. */
export async function finishOperation(deps: OpsDeps, ended: OperationRecord): Promise<void> {
  const final = await restoreSurge(deps, ended);
  await deps.operations.save(final);
  const summary = {
    operationId: final.operationId,
    status: final.status,
    ...(final.failure ? { reason: final.failure } : {}),
    results: final.results.map((result) => `${result.instanceId}: ${result.outcome}`),
  };
  if (final.status === "failed") deps.log.error("operation finished", summary);
  else deps.log.info("operation finished", summary);
  emitAll(deps, operationFinishedMetrics(final.groupName, final.kind, final.status));
}

/**
 * The next re-check of the operation, `delaySeconds` from now, in the operation's chain: `op` is the
 * record as saved (or about to be) with that chain, so its version is the one the chain arrives with.
 */
export async function schedule(deps: OpsDeps, op: OperationRecord, delaySeconds: number): Promise<void> {
  const instanceId = op.wave[0]?.instanceId ?? op.instanceIds[op.index] ?? op.instanceIds[0] ?? "";
  const chain = op.chain ? { chain: op.chain, chainSince: op.version } : {};
  await deps.rechecks.schedule(
    { step: "operation", instanceId, token: op.operationId, ...chain },
    delaySeconds,
  );
}
