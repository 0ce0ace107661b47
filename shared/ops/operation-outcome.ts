import { registerTargets } from "../gate/target-health.js";
import { emitAll } from "../metrics/emit.js";
import { operationFinishedMetrics } from "../metrics/operation-metrics.js";
import type { OpsDeps } from "./advance-operation.js";
import { finishInstance, nextVersion, type OperationRecord } from "./operation.js";
import { restoreSurge } from "./surge.js";

/** How an operation's instance ends — failed, stopped, moved past — and how its next step is scheduled. */

/**
 * The current instance's step failed. A re-bootstrap records why and stops (the next instance is not
 * touched while one is broken). A remediation climbs to the ladder's next rung for the same instance.
 */
export async function fail(
  deps: OpsDeps,
  op: OperationRecord,
  instanceId: string,
  reason: string,
): Promise<void> {
  const now = deps.now();
  if (op.kind === "remediate") {
    deps.log.warn("remediation restart did not restore health; next rung", {
      operationId: op.operationId,
      instanceId,
      reason,
    });
    const retry = nextVersion(op, { step: "starting", current: undefined, retrying: instanceId }, now);
    await deps.operations.unlock(instanceId, op.operationId);
    await schedule(deps, retry, 0);
    await deps.operations.save(retry);
    return;
  }
  await stop(deps, op, instanceId, reason);
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
 * Records the instance as failed and stops the operation: the next instance is not touched. A drained
 * instance is registered again first: never InService yet out of every target group, unjudged — the
 * load balancer's checks decide whether it serves, and with ELB health checks Auto Scaling replaces it
 * if it does not.
 */
export async function stop(
  deps: OpsDeps,
  op: OperationRecord,
  instanceId: string,
  reason: string,
): Promise<void> {
  const drainedOut = op.current?.drained === true && op.step !== "verifying";
  if (drainedOut && op.current) await registerTargets(deps, instanceId, op.current.targets);
  const failed = await restoreSurge(
    deps,
    finishInstance(
      op,
      {
        instanceId,
        outcome: "failed",
        commandId: op.current?.commandId,
        reason: drainedOut
          ? `${reason} (registered again: its health checks decide whether it serves)`
          : reason,
      },
      deps.now(),
    ),
  );
  deps.log.error(`${op.kind} failed; operation stopped`, { operationId: op.operationId, instanceId, reason });
  await deps.operations.save(failed);
  emitAll(deps, operationFinishedMetrics(op.groupName, op.kind, failed.status));
  await deps.operations.unlock(instanceId, op.operationId);
}

export async function moveOn(deps: OpsDeps, moved: OperationRecord, instanceId: string): Promise<void> {
  const next = moved.status === "running" ? moved : await restoreSurge(deps, moved);
  if (next.status === "running") await schedule(deps, next, 0);
  await deps.operations.save(next);
  if (next.status !== "running") {
    deps.log.info("operation finished", { operationId: next.operationId, status: next.status, instanceId });
    emitAll(deps, operationFinishedMetrics(next.groupName, next.kind, next.status));
  }
}

export async function schedule(deps: OpsDeps, op: OperationRecord, delaySeconds: number): Promise<void> {
  const instanceId = op.current?.instanceId ?? op.instanceIds[op.index] ?? op.instanceIds[0] ?? "";
  await deps.rechecks.schedule({ step: "operation", instanceId, token: op.operationId }, delaySeconds);
}
