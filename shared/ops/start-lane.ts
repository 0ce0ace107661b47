import { discoverTargetGroups } from "../gate/target-groups.js";
import { emitAll } from "../metrics/emit.js";
import { remediationActionMetrics, remediationRefusalMetrics } from "../metrics/operation-metrics.js";
import type { OpsDeps } from "./advance-operation.js";
import { sendCommand } from "./command-steps.js";
import { beginDrain, DRAIN_PACE_SECONDS, lastHealthyIn } from "./drain-first.js";
import type { Lane, LaneOutcome, OperationRecord } from "./operation.js";
import { failLane, stopLane } from "./operation-outcome.js";
import { preflight } from "./preflight.js";
import { alarmStillFiring, isLastHealthy, replaceInstance } from "./remediation/actions.js";
import { readTargetGroupHealth, systemicOutage } from "./remediation/outage.js";
import { nextRung } from "./remediation/policy.js";

/**
 * The first step of one instance of a wave: checks (still ours and InService, the alarm still firing),
 * the per-instance lock, its target groups; then a remediation's rung (restart or replace, unless the
 * outage is systemic or the budget spent), or a re-bootstrap's drain — never of the last healthy
 * target of a target group unless forced — or its command at once.
 *
 * `othersOut` are the other instances of the wave out of their target groups right now: they do not
 * count as serving, whatever the load balancer still reports. An instance that would be the last
 * healthy target while they are out waits — put off to the next wave when it can be (`canDefer`: the
 * lanes after it have not started), else until they are back — even with `force`: force accepts the
 * downtime of draining a last healthy target that has no alternative, never one a batch would cause.
 */
export async function startLane(
  deps: OpsDeps,
  op: OperationRecord,
  lane: Lane,
  othersOut: readonly string[],
  canDefer: boolean,
): Promise<LaneOutcome> {
  const { instanceId } = lane;
  const now = deps.now();
  const skip = (reason: string): LaneOutcome => ({
    kind: "finished",
    result: { instanceId, outcome: "skipped", reason },
  });
  if (op.kind === "remediate" && !(await alarmStillFiring(deps, op.alarmName ?? ""))) {
    return skip(`alarm ${op.alarmName} is no longer in ALARM: nothing to do`);
  }
  const check = await preflight(deps, instanceId, op.groupName);
  if (!check.ok) return skip(check.refusal);
  const { group } = check;
  const lockUntil = now + (group.bootstrapTimeoutSeconds + 1800) * 1000;
  if (!(await deps.operations.lock(instanceId, op.operationId, now, lockUntil)))
    return skip(`another operation is working on ${instanceId}`);
  const release = () => deps.operations.unlock(instanceId, op.operationId);
  const discovery = await discoverTargetGroups(deps, group);
  if (!discovery.ok) return failLane(deps, op, lane, discovery.problem);

  if (op.kind === "remediate") {
    const history = await deps.operations.loadHistory(instanceId);
    // The same episode: a failed restart climbing the ladder, or this very step retried after it acted.
    const sameEpisode = lane.retrying === true || history.lastOperationId === op.operationId;
    const rung = nextRung(history, group, now, sameEpisode);
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
      return {
        kind: "finished",
        result: {
          instanceId,
          outcome: "replaced",
          reason: `marked Unhealthy for replacement: ${rung.reason}`,
        },
      };
    }
  }

  if (op.drainFirst) {
    const lastIn = await lastHealthyIn(deps, instanceId, discovery.targets, othersOut);
    if (lastIn.length > 0 && othersOut.length > 0) {
      await release();
      deps.log.info(
        "waits for the rest of its wave: it would be the last healthy target while they are out",
        {
          operationId: op.operationId,
          instanceId,
          lastHealthyIn: lastIn,
          out: othersOut,
        },
      );
      return canDefer ? { kind: "deferred" } : { kind: "continue", lane, delaySeconds: DRAIN_PACE_SECONDS };
    }
    if (lastIn.length > 0 && !op.force) {
      return stopLane(
        deps,
        op,
        lane,
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
    return {
      kind: "continue",
      lane: { instanceId, step: "draining", current },
      delaySeconds: DRAIN_PACE_SECONDS,
    };
  }
  return sendCommand(deps, op, group, { instanceId, startedAt: now, targets: discovery.targets });
}
