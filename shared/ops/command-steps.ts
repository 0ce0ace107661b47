import type { RuntimeGroup } from "../config/runtime-config.js";
import { awsErrorName, errorMessage } from "../errors.js";
import {
  classifySendError,
  findCommandByComment,
  getInvocation,
  sendBootstrapCommand,
} from "../gate/bootstrap-command.js";
import {
  bootstrapExecutionTimedOut,
  bootstrapFailed,
  bootstrapNotSent,
  bootstrapTimedOut,
  neverHealthy,
} from "../gate/reasons.js";
import type { RegisteredTarget } from "../gate/record.js";
import { healthBudgetSeconds } from "../gate/target-groups.js";
import { observeHealth, registerTargets } from "../gate/target-health.js";
import { emitAll } from "../metrics/emit.js";
import { remediationActionMetrics } from "../metrics/operation-metrics.js";
import type { OpsDeps } from "./advance-operation.js";
import {
  type CurrentInstance,
  commandedInstance,
  type Lane,
  type LaneOutcome,
  type OperationRecord,
  startedInstance,
} from "./operation.js";
import { failLane, recordRestart, stopLane } from "./operation-outcome.js";

/**
 * An operation's command for one instance of its wave: sent (or, after a lost save, adopted), followed
 * to its end, then the instance's health verified before its lane ends.
 */

/** How often an operation looks at each of its instances' commands and health. */
export const OPERATION_PACE_SECONDS = 15;
const COMMAND_REPORT_SLACK_SECONDS = 120;

/** Sends the bootstrap command to the lane's instance and follows it from the next step on. */
export async function sendCommand(
  deps: OpsDeps,
  op: OperationRecord,
  group: RuntimeGroup,
  current: CurrentInstance,
): Promise<LaneOutcome> {
  const { instanceId } = current;
  const now = deps.now();
  // Its command not yet running: a failure here registers a drained instance again.
  const sending: Lane = { instanceId, step: "running", current };
  const comment = `launchgate ${op.kind} ${op.operationId}`;
  // A step that sent its command and then failed to save (a crash, a throttled write) runs again:
  // it adopts the command it sent — found by its comment, since the step's last save — never sends
  // a second one.
  const sent = await findCommandByComment(deps, instanceId, op.updatedAt, (c) => c === comment);
  if (sent) {
    deps.log.warn(`${op.kind}: adopting the command this step already sent`, {
      operationId: op.operationId,
      instanceId,
      commandId: sent.commandId,
    });
    return following(deps, group, current, sent.commandId);
  }
  let commandId: string;
  try {
    commandId = await sendBootstrapCommand(deps, {
      documentName: group.documentName,
      instanceId,
      bootstrapPhase: op.kind === "remediate" ? "start" : op.bootstrapPhase,
      trigger: op.kind === "remediate" ? "remediate" : "rebootstrap",
      comment,
      ...(op.documentVersion ? { documentVersion: op.documentVersion } : {}),
    });
  } catch (error) {
    const failure = classifySendError(error);
    // Throttling, 5xx, no answer: this step is retried, and adopts the command if ListCommands shows
    // it by then (one sent moments before may not show yet: the bootstrap is idempotent and takes a
    // lock). Anything else will not fix itself by retrying.
    if (failure === "transient" || failure === "unknown") throw error;
    if (failure === "agent-not-addressable") {
      // A restart that could not even be delivered still counts on the ladder: the next rung follows.
      if (op.kind === "remediate") await recordRestart(deps, op, instanceId, now);
      return failLane(
        deps,
        op,
        sending,
        `SSM agent on ${instanceId} is not reachable (InvalidInstanceId): the command could not be sent`,
      );
    }
    const reason = bootstrapNotSent(
      group.documentName,
      awsErrorName(error),
      errorMessage(error),
      "operations",
    );
    return stopLane(deps, op, sending, reason);
  }
  // Counted only once the restart was really sent: a retried step must not see its own attempt as a
  // past restart (and skip the instance for the cooldown).
  if (op.kind === "remediate") {
    await recordRestart(deps, op, instanceId, now);
    emitAll(deps, remediationActionMetrics(op.groupName, "restart"));
  }
  deps.log.info(`${op.kind} sent`, { operationId: op.operationId, instanceId, commandId });
  return following(deps, group, current, commandId);
}

/** Records the command as the lane's and follows it from the next re-check on. */
function following(
  deps: OpsDeps,
  group: RuntimeGroup,
  current: CurrentInstance,
  commandId: string,
): LaneOutcome {
  const now = deps.now();
  const stepDeadline = now + (group.bootstrapTimeoutSeconds + COMMAND_REPORT_SLACK_SECONDS) * 1000;
  return {
    kind: "continue",
    lane: {
      instanceId: current.instanceId,
      step: "running",
      current: { ...current, commandId, stepDeadline },
    },
    delaySeconds: OPERATION_PACE_SECONDS,
  };
}

export async function followCommand(deps: OpsDeps, op: OperationRecord, lane: Lane): Promise<LaneOutcome> {
  const current = commandedInstance(lane);
  const group = deps.config.groups.find((g) => g.name === op.groupName);
  const invocation = await getInvocation(deps, current.commandId, current.instanceId);
  const now = deps.now();
  if (invocation?.terminal && !invocation.succeeded) {
    const reason =
      invocation.status === "TimedOut"
        ? bootstrapExecutionTimedOut(current.commandId, group?.bootstrapTimeoutSeconds ?? 0, invocation)
        : bootstrapFailed(current.commandId, invocation);
    return failLane(deps, op, lane, reason);
  }
  if (invocation?.succeeded) {
    // A drained instance comes back through a fresh registration: `initial` until its checks pass, so
    // any `healthy` is new. In place (or a drain cut short), the load balancer's view may still be
    // from before the restart until it could have noticed it.
    if (current.drained) await registerTargets(deps, current.instanceId, current.targets);
    const trustAfter = current.drained && !current.drainCutShort ? 0 : detectionSeconds(current.targets);
    const budget = healthBudgetSeconds(current.targets);
    return {
      kind: "continue",
      lane: {
        ...lane,
        step: "verifying",
        current: {
          ...current,
          stepDeadline: now + (budget + trustAfter) * 1000,
          verifyNotBefore: now + trustAfter * 1000,
        },
      },
      delaySeconds: Math.max(trustAfter, healthPace(current.targets)),
    };
  }
  if (now >= (current.stepDeadline ?? now)) {
    const reason = bootstrapTimedOut(
      current.commandId,
      group?.bootstrapTimeoutSeconds ?? 0,
      invocation?.status ?? "unknown",
    );
    return failLane(deps, op, lane, reason);
  }
  return { kind: "continue", lane, delaySeconds: OPERATION_PACE_SECONDS };
}

export async function verifyHealth(deps: OpsDeps, op: OperationRecord, lane: Lane): Promise<LaneOutcome> {
  const current = startedInstance(lane);
  if (deps.now() < (current.verifyNotBefore ?? 0)) {
    const delaySeconds = Math.ceil(((current.verifyNotBefore ?? 0) - deps.now()) / 1000);
    return { kind: "continue", lane, delaySeconds };
  }
  const observations = await observeHealth(deps, current.instanceId, current.targets);
  const now = deps.now();
  const waited = Math.round((now - current.startedAt) / 1000);
  if (observations.every((o) => o.state === "healthy")) {
    const names = current.targets.map((t) => t.name).join(", ");
    const done = op.kind === "remediate" ? "restarted" : "re-bootstrapped";
    await deps.operations.unlock(current.instanceId, op.operationId);
    return {
      kind: "finished",
      result: {
        instanceId: current.instanceId,
        outcome: "succeeded",
        commandId: current.commandId,
        reason: `${done}; healthy in ${names}`,
      },
    };
  }
  if (now >= (current.stepDeadline ?? now))
    return failLane(deps, op, lane, neverHealthy(observations, waited));
  return { kind: "continue", lane, delaySeconds: healthPace(current.targets) };
}

/**
 * How long the load balancer needs to notice an app that went down during the command: its unhealthy
 * threshold of failed checks, one interval apart, plus one interval of phase. A `healthy` read sooner
 * proves nothing about the restarted app.
 */
export function detectionSeconds(targets: readonly RegisteredTarget[]): number {
  return Math.max(0, ...targets.map((t) => t.intervalSeconds * ((t.unhealthyThreshold ?? 2) + 1)));
}

function healthPace(targets: readonly { intervalSeconds: number }[]): number {
  return Math.max(5, Math.min(30, ...targets.map((t) => t.intervalSeconds)));
}
