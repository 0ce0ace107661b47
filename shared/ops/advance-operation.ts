import { randomUUID } from "node:crypto";
import type { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import type { RuntimeGroup } from "../config/runtime-config.js";
import { awsErrorName, errorMessage, NotYetError, SkipEventError } from "../errors.js";
import {
  classifySendError,
  findCommandByComment,
  getInvocation,
  sendBootstrapCommand,
} from "../gate/bootstrap-command.js";
import type { GateDeps } from "../gate/deps.js";
import {
  bootstrapExecutionTimedOut,
  bootstrapFailed,
  bootstrapNotSent,
  bootstrapTimedOut,
  neverHealthy,
} from "../gate/reasons.js";
import type { RegisteredTarget } from "../gate/record.js";
import { discoverTargetGroups, healthBudgetSeconds } from "../gate/target-groups.js";
import { observeHealth, registerTargets } from "../gate/target-health.js";
import { emitAll } from "../metrics/emit.js";
import {
  operationFinishedMetrics,
  remediationActionMetrics,
  remediationRefusalMetrics,
} from "../metrics/operation-metrics.js";
import { beginDrain, drainState, lastHealthyIn } from "./drain-first.js";
import {
  type CurrentInstance,
  finishInstance,
  newOperation,
  nextVersion,
  type OperationRecord,
} from "./operation.js";
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

/** How often an operation looks at its current instance's command and health. */
export const OPERATION_PACE_SECONDS = 15;
/** How often a drain is looked at: the load balancer may end it early, when no request is left. */
const DRAIN_PACE_SECONDS = 10;
const COMMAND_REPORT_SLACK_SECONDS = 120;

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

/** Sends the bootstrap command to the current instance and follows it from the next step on. */
async function sendCommand(
  deps: OpsDeps,
  op: OperationRecord,
  group: RuntimeGroup,
  current: CurrentInstance,
): Promise<void> {
  const { instanceId } = current;
  const now = deps.now();
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
    return following(deps, op, group, current, sent.commandId);
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
      return fail(
        deps,
        op,
        instanceId,
        `SSM agent on ${instanceId} is not reachable (InvalidInstanceId): the command could not be sent`,
      );
    }
    const reason = bootstrapNotSent(
      group.documentName,
      awsErrorName(error),
      errorMessage(error),
      "operations",
    );
    return stop(deps, op, instanceId, reason);
  }
  // Counted only once the restart was really sent: a retried step must not see its own attempt as a
  // past restart (and skip the instance for the cooldown).
  if (op.kind === "remediate") {
    await recordRestart(deps, op, instanceId, now);
    emitAll(deps, remediationActionMetrics(op.groupName, "restart"));
  }
  deps.log.info(`${op.kind} sent`, { operationId: op.operationId, instanceId, commandId });
  return following(deps, op, group, current, commandId);
}

/** Records the command as the current instance's and follows it from the next re-check on. */
async function following(
  deps: OpsDeps,
  op: OperationRecord,
  group: RuntimeGroup,
  current: CurrentInstance,
  commandId: string,
): Promise<void> {
  const now = deps.now();
  const running = nextVersion(
    op,
    {
      step: "running",
      retrying: undefined,
      current: {
        ...current,
        commandId,
        stepDeadline: now + (group.bootstrapTimeoutSeconds + COMMAND_REPORT_SLACK_SECONDS) * 1000,
      },
    },
    now,
  );
  await schedule(deps, running, OPERATION_PACE_SECONDS);
  await deps.operations.save(running);
}

async function followCommand(deps: OpsDeps, op: OperationRecord): Promise<void> {
  const current = op.current;
  if (!current?.commandId) throw new SkipEventError("operation has no running command");
  const group = deps.config.groups.find((g) => g.name === op.groupName);
  const invocation = await getInvocation(deps, current.commandId, current.instanceId);
  const now = deps.now();
  if (invocation?.terminal && !invocation.succeeded) {
    const reason =
      invocation.status === "TimedOut"
        ? bootstrapExecutionTimedOut(current.commandId, group?.bootstrapTimeoutSeconds ?? 0, invocation)
        : bootstrapFailed(current.commandId, invocation);
    return fail(deps, op, current.instanceId, reason);
  }
  if (invocation?.succeeded) {
    // A drained instance comes back through a fresh registration: `initial` until its checks pass, so
    // any `healthy` is new. In place (or a drain cut short), the load balancer's view may still be
    // from before the restart until it could have noticed it.
    if (current.drained) await registerTargets(deps, current.instanceId, current.targets);
    const trustAfter = current.drained && !current.drainCutShort ? 0 : detectionSeconds(current.targets);
    const budget = healthBudgetSeconds(current.targets);
    const verifying = nextVersion(
      op,
      {
        step: "verifying",
        current: {
          ...current,
          stepDeadline: now + (budget + trustAfter) * 1000,
          verifyNotBefore: now + trustAfter * 1000,
        },
      },
      now,
    );
    await schedule(deps, verifying, healthPace(current.targets));
    await deps.operations.save(verifying);
    return;
  }
  if (now >= (current.stepDeadline ?? now)) {
    const reason = bootstrapTimedOut(
      current.commandId,
      group?.bootstrapTimeoutSeconds ?? 0,
      invocation?.status ?? "unknown",
    );
    return fail(deps, op, current.instanceId, reason);
  }
  await schedule(deps, op, OPERATION_PACE_SECONDS);
}

async function verifyHealth(deps: OpsDeps, op: OperationRecord): Promise<void> {
  const current = op.current;
  if (!current) throw new SkipEventError("operation has no current instance");
  if (deps.now() < (current.verifyNotBefore ?? 0)) {
    await schedule(deps, op, Math.ceil(((current.verifyNotBefore ?? 0) - deps.now()) / 1000));
    return;
  }
  const observations = await observeHealth(deps, current.instanceId, current.targets);
  const now = deps.now();
  const waited = Math.round((now - current.startedAt) / 1000);
  if (observations.every((o) => o.state === "healthy")) {
    const names = current.targets.map((t) => t.name).join(", ");
    const done = op.kind === "remediate" ? "restarted" : "re-bootstrapped";
    const result = {
      instanceId: current.instanceId,
      outcome: "succeeded" as const,
      commandId: current.commandId,
      reason: `${done}; healthy in ${names}`,
    };
    await deps.operations.unlock(current.instanceId, op.operationId);
    return moveOn(deps, finishInstance(op, result, now), current.instanceId);
  }
  if (now >= (current.stepDeadline ?? now))
    return fail(deps, op, current.instanceId, neverHealthy(observations, waited));
  await schedule(deps, op, healthPace(current.targets));
}

/**
 * The current instance's step failed. A re-bootstrap records why and stops (the next instance is not
 * touched while one is broken). A remediation climbs to the ladder's next rung for the same instance.
 */
async function fail(deps: OpsDeps, op: OperationRecord, instanceId: string, reason: string): Promise<void> {
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

async function recordRestart(
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
async function stop(deps: OpsDeps, op: OperationRecord, instanceId: string, reason: string): Promise<void> {
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

async function moveOn(deps: OpsDeps, moved: OperationRecord, instanceId: string): Promise<void> {
  const next = moved.status === "running" ? moved : await restoreSurge(deps, moved);
  if (next.status === "running") await schedule(deps, next, 0);
  await deps.operations.save(next);
  if (next.status !== "running") {
    deps.log.info("operation finished", { operationId: next.operationId, status: next.status, instanceId });
    emitAll(deps, operationFinishedMetrics(next.groupName, next.kind, next.status));
  }
}

async function schedule(deps: OpsDeps, op: OperationRecord, delaySeconds: number): Promise<void> {
  const instanceId = op.current?.instanceId ?? op.instanceIds[op.index] ?? op.instanceIds[0] ?? "";
  await deps.rechecks.schedule({ step: "operation", instanceId, token: op.operationId }, delaySeconds);
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
