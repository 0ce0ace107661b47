import { randomUUID } from "node:crypto";
import type { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { NotYetError, SkipEventError } from "../errors.js";
import type { GateDeps } from "../gate/deps.js";
import { discoverTargetGroups } from "../gate/target-groups.js";
import { emitAll } from "../metrics/emit.js";
import {
  operationFinishedMetrics,
  remediationActionMetrics,
  remediationRefusalMetrics,
} from "../metrics/operation-metrics.js";
import { followCommand, OPERATION_PACE_SECONDS, sendCommand, verifyHealth } from "./command-steps.js";
import { beginDrain, drainState, lastHealthyIn } from "./drain-first.js";
import { finishInstance, newOperation, nextVersion, type OperationRecord } from "./operation.js";
import { fail, moveOn, schedule, stop } from "./operation-outcome.js";
import type { OperationStore } from "./ports.js";
import { preflight } from "./preflight.js";
import { alarmStillFiring, isLastHealthy, replaceInstance } from "./remediation/actions.js";
import { readTargetGroupHealth, systemicOutage } from "./remediation/outage.js";
import { nextRung } from "./remediation/policy.js";
import { advanceSurge, restoreSurge } from "./surge.js";

export interface OpsDeps extends GateDeps {
  readonly operations: OperationStore;
  readonly cloudwatch: CloudWatchClient;
}

/** Fast retries (5, 10, 20 s) of a first step that arrives before its operation was saved. */
export const MISSING_OPERATION_RETRIES = 3;

/** How often a drain is looked at: the load balancer may end it early, when no request is left. */
const DRAIN_PACE_SECONDS = 10;

/**
 * Starts an operation: its first step is scheduled before the record is saved, so a crash in between
 * leaves a re-check that finds no operation (dropped), never an operation that nothing drives.
 */
export async function launchOperation(
  deps: OpsDeps,
  fields: Parameters<typeof newOperation>[0],
): Promise<OperationRecord> {
  const operation = newOperation(fields, randomUUID(), deps.now());
  await schedule(deps, operation, 0);
  await deps.operations.save(operation);
  return operation;
}

/**
 * One step of an operation, run by each re-check: start the current instance (preflight, lock, send),
 * follow its command, verify its health, then move to the next. Each step schedules the next re-check
 * before saving, so a failure anywhere is repaired by a retry of the same step.
 *
 * A re-bootstrap stops at the first failed instance. A remediation climbs its ladder instead: a
 * restart that does not restore health is followed by another, then by a replacement.
 */
export async function advanceOperation(deps: OpsDeps, operationId: string, attempt = 0): Promise<void> {
  const op = await deps.operations.load(operationId);
  if (!op) {
    // The first step is scheduled before the operation is saved, and SQS can deliver it before the
    // save lands: wait a little for it. Still absent after that, the starter died before saving.
    if (attempt < MISSING_OPERATION_RETRIES)
      throw new NotYetError("operation not saved yet", { operationId });
    throw new SkipEventError("no such operation", { operationId });
  }
  if (op.status !== "running") throw new SkipEventError("operation already finished", { status: op.status });
  if (op.step === "surging") return followSurge(deps, op);
  if (op.step === "starting") return startInstance(deps, op);
  if (op.step === "draining") return followDrain(deps, op);
  if (op.step === "running") return followCommand(deps, op);
  return verifyHealth(deps, op);
}

async function startInstance(deps: OpsDeps, op: OperationRecord): Promise<void> {
  const instanceId = op.instanceIds[op.index] ?? "";
  const now = deps.now();
  const skip = (reason: string) =>
    moveOn(deps, finishInstance(op, { instanceId, outcome: "skipped", reason }, now), instanceId);
  if (op.kind === "remediate" && !(await alarmStillFiring(deps, op.alarmName ?? ""))) {
    return skip(`alarm ${op.alarmName} is no longer in ALARM: nothing to do`);
  }
  const check = await preflight(deps, instanceId, op.groupName);
  if (!check.ok) return skip(check.refusal);
  const { group } = check;
  const lockUntil = now + (group.bootstrapTimeoutSeconds + 1800) * 1000;
  if (!(await deps.operations.lock(instanceId, op.operationId, now, lockUntil)))
    return skip(`another operation is working on ${instanceId}`);
  const discovery = await discoverTargetGroups(deps, group);
  if (!discovery.ok) return fail(deps, op, instanceId, discovery.problem);

  if (op.kind === "remediate") {
    const history = await deps.operations.loadHistory(instanceId);
    // The same episode: a failed restart climbing the ladder, or this very step retried after it acted.
    const sameEpisode = op.retrying === instanceId || history.lastOperationId === op.operationId;
    const rung = nextRung(history, group, now, sameEpisode);
    const release = () => deps.operations.unlock(instanceId, op.operationId);
    if (rung.rung === "skip") {
      await release();
      return skip(rung.reason);
    }
    if (await isLastHealthy(deps, instanceId, discovery.targets)) {
      await release();
      emitAll(deps, remediationRefusalMetrics(op.groupName, "last-healthy"));
      return skip("it is the last healthy instance: left alone");
    }
    // Checked at each action, not only when the episode began: an outage can start mid-episode.
    const health = await readTargetGroupHealth(
      deps,
      discovery.targets.map((target) => target.targetGroupArn),
    );
    const systemic = systemicOutage(health, group.remediation.systemicThresholdPercent);
    if (systemic) {
      await release();
      deps.log.warn("remediation refused: systemic", {
        operationId: op.operationId,
        instanceId,
        reason: systemic,
      });
      emitAll(deps, remediationRefusalMetrics(op.groupName, "systemic"));
      return skip(systemic);
    }
    if (rung.rung === "replace") {
      const { maxReplacementsPerHour } = group.remediation;
      if (!(await deps.operations.takeReplacement(op.groupName, now, maxReplacementsPerHour))) {
        await release();
        emitAll(deps, remediationRefusalMetrics(op.groupName, "replacement-budget"));
        return skip(
          `replacement budget: ${op.groupName} already had ${maxReplacementsPerHour} replacement(s) in the last hour (maxReplacementsPerHour)`,
        );
      }
      await replaceInstance(deps, instanceId, rung.reason);
      emitAll(deps, remediationActionMetrics(op.groupName, "replace"));
      await deps.operations.saveHistory(instanceId, {
        restarts: history.restarts,
        lastActionAt: now,
        lastOperationId: op.operationId,
      });
      await release();
      const result = {
        instanceId,
        outcome: "replaced" as const,
        reason: `marked Unhealthy for replacement: ${rung.reason}`,
      };
      return moveOn(deps, finishInstance(op, result, now), instanceId);
    }
  }

  if (op.drainFirst) {
    const lastIn = await lastHealthyIn(deps, instanceId, discovery.targets);
    if (lastIn.length > 0 && !op.force) {
      return stop(
        deps,
        op,
        instanceId,
        `refused: ${instanceId} is the last healthy target of ${lastIn.join(", ")}; draining it would stop serving: re-run with surge (one more instance first) or force (downtime accepted)`,
      );
    }
    if (lastIn.length > 0) {
      deps.log.warn("force: draining the last healthy target; downtime accepted", {
        operationId: op.operationId,
        instanceId,
        targetGroups: lastIn,
      });
    }
    const current = await beginDrain(deps, instanceId, discovery.targets, op.drainSeconds, now);
    const draining = nextVersion(op, { step: "draining", retrying: undefined, current }, now);
    await schedule(deps, draining, DRAIN_PACE_SECONDS);
    await deps.operations.save(draining);
    return;
  }
  return sendCommand(deps, op, group, { instanceId, startedAt: now, targets: discovery.targets });
}

/** Scales out by one and waits for the new instance to serve before touching any instance. */
async function followSurge(deps: OpsDeps, op: OperationRecord): Promise<void> {
  const group = deps.config.groups.find((g) => g.name === op.groupName);
  if (!group) throw new SkipEventError("group is no longer configured", { groupName: op.groupName });
  const progress = await advanceSurge(deps, op, group.gateTimeoutSeconds);
  const now = deps.now();
  if (progress.kind === "failed") {
    const failed = await restoreSurge(
      deps,
      nextVersion(op, { status: "failed", failure: progress.reason }, now),
    );
    deps.log.error(`${op.kind} stopped before any instance`, {
      operationId: op.operationId,
      reason: progress.reason,
    });
    await deps.operations.save(failed);
    emitAll(deps, operationFinishedMetrics(op.groupName, op.kind, "failed"));
    return;
  }
  const next = progress.kind === "ready" ? nextVersion(progress.op, { step: "starting" }, now) : progress.op;
  await schedule(deps, next, progress.kind === "ready" ? 0 : OPERATION_PACE_SECONDS);
  if (next !== op) await deps.operations.save(next);
}

/** Waits for the load balancer to end the drain (or the requested limit), then sends the command. */
async function followDrain(deps: OpsDeps, op: OperationRecord): Promise<void> {
  const current = op.current;
  if (!current) throw new SkipEventError("operation has no current instance");
  const group = deps.config.groups.find((g) => g.name === op.groupName);
  if (!group) throw new SkipEventError("group is no longer configured", { groupName: op.groupName });
  const state = await drainState(deps, current, deps.now());
  if (state === "draining") {
    await schedule(deps, op, DRAIN_PACE_SECONDS);
    return;
  }
  return sendCommand(deps, op, group, { ...current, drainCutShort: state === "cut-short" });
}
