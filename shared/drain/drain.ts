import {
  type AutoScalingClient,
  CompleteLifecycleActionCommand,
  RecordLifecycleActionHeartbeatCommand,
} from "@aws-sdk/client-auto-scaling";
import { GetCommandInvocationCommand, SendCommandCommand, type SSMClient } from "@aws-sdk/client-ssm";
import {
  drainHookHeartbeatSeconds,
  type RuntimeConfig,
  type RuntimeGroup,
} from "../config/runtime-config.js";
import { awsErrorName, errorMessage, SkipEventError, StaleRecordError } from "../errors.js";
import type { DrainRecheckEvent } from "../events/parse-drain-recheck.js";
import type { TerminateEvent } from "../events/parse-terminate-action.js";
import type { DrainRechecks } from "./rechecks.js";
import { type DrainOutcome, type DrainRecord, lifecycleAction, nextDrain } from "./record.js";
import type { DrainStore } from "./store.js";

/**
 * Graceful drain on scale-in (issue 13). An instance leaving a group with `drain` configured waits at
 * the group's terminate hook (default result CONTINUE). The drain: record it (idempotent: a duplicate
 * event finds the record and stops, so the command is sent once), send the bootstrap document with
 * phase `drain`, follow it with re-checks (heartbeating the hook), and complete the hook with CONTINUE
 * when the command ends — whatever its status — or when the limit passes, recording the outcome. It
 * always completes: the hook's own timeout (limit + margin) is a backstop, never the plan.
 */

export interface DrainLog {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
}

export interface DrainDeps {
  readonly config: RuntimeConfig;
  readonly autoScaling: AutoScalingClient;
  readonly ssm: SSMClient;
  /** The client SendCommand goes through (no SDK retries: SendCommand is not idempotent); absent: ssm. */
  readonly ssmCommands?: SSMClient;
  readonly drains: DrainStore;
  readonly rechecks: DrainRechecks;
  readonly now: () => number;
  readonly log: DrainLog;
}

/** How often a running drain is looked at. */
export const DRAIN_PACE_SECONDS = 10;
/** A send claimed this long ago with no command recorded: its sender died; send again. */
export const SEND_CLAIM_SECONDS = 60;
/** How long SSM may take to deliver the drain command. */
const DELIVERY_TIMEOUT_SECONDS = 60;
const TERMINAL_STATUSES = new Set(["Success", "Failed", "TimedOut", "Cancelled"]);
export const DRAIN_COMMENT_PREFIX = "launchgate drain ";

export function drainGroup(config: RuntimeConfig, groupName: string, hookName?: string) {
  const group = config.groups.find((candidate) => candidate.name === groupName);
  if (!group?.drain) throw new SkipEventError("group does not drain", { groupName });
  if (hookName !== undefined && group.drain.hookName !== hookName) {
    throw new SkipEventError("not the group's drain hook", { groupName, hookName });
  }
  return { group, drain: group.drain };
}

/** A terminate lifecycle action at a drain hook: record the drain, then send the drain command. */
export async function startDrain(deps: DrainDeps, event: TerminateEvent): Promise<void> {
  const { group, drain } = drainGroup(deps.config, event.groupName, event.hookName);
  const existing = await deps.drains.load(event.instanceId);
  if (existing?.token === event.token) {
    throw new SkipEventError("drain already recorded (a duplicate event)", {
      instanceId: event.instanceId,
      phase: existing.phase,
    });
  }
  const now = deps.now();
  if (existing && coveredByRescue(existing, event, now)) {
    throw new SkipEventError("drain already rescued by the reconciler (a late event)", {
      instanceId: event.instanceId,
      phase: existing.phase,
    });
  }
  // The limit runs from when the instance began to wait, but never from the future (clock skew).
  const startedAt = Math.min(event.waitStartedAt ?? now, now);
  const record: DrainRecord = {
    instanceId: event.instanceId,
    groupName: event.groupName,
    hookName: event.hookName,
    token: event.token,
    destination: event.destination,
    phase: "sending",
    startedAt,
    deadline: startedAt + drain.timeoutSeconds * 1000,
    sentAt: now,
    // A drain of the same instance before (it went back to the warm pool) is replaced, not reused.
    version: (existing?.version ?? 0) + 1,
  };
  await deps.drains.save(record, existing?.version ?? 0);
  deps.log.info("drain started", { instanceId: record.instanceId, limitSeconds: drain.timeoutSeconds });
  // Scheduled before the send: a crash after it still leaves a re-check to finish the drain.
  await deps.rechecks.schedule(record.instanceId, record.token, pace(record, now));
  await send(deps, group, record);
}

/**
 * A late event for the wait the reconciler rescued: that drain runs (or ran) for it. An instance waits
 * at the drain hook once at a time, so a rescue not yet done is this wait's; a done one covers an event
 * for a wait that began before the rescue found it.
 */
function coveredByRescue(existing: DrainRecord, event: TerminateEvent, now: number): boolean {
  if (existing.rescued === undefined) return false;
  return existing.phase !== "done" || (event.waitStartedAt ?? now) < existing.startedAt;
}

/** A drain re-check: finish the drain if its command ended or its limit passed, else heartbeat and wait. */
export async function onDrainRecheck(deps: DrainDeps, event: DrainRecheckEvent): Promise<void> {
  const record = await deps.drains.load(event.instanceId);
  if (!record || record.token !== event.token) {
    throw new SkipEventError("re-check of a drain no longer recorded", { instanceId: event.instanceId });
  }
  if (record.phase === "done") {
    throw new SkipEventError("drain already finished", { instanceId: record.instanceId });
  }
  const group = deps.config.groups.find((candidate) => candidate.name === record.groupName);
  if (!group?.drain) {
    // The stack no longer drains this group (config changed mid-drain): still complete the hook.
    return finish(deps, record, "drain-failed", "the group no longer drains (config changed)");
  }
  const drain = group.drain;
  const now = deps.now();
  if (record.phase === "draining" && record.commandId) {
    const invocation = await readInvocation(deps, record.commandId, record.instanceId);
    if (invocation && TERMINAL_STATUSES.has(invocation.status)) {
      const succeeded = invocation.status === "Success";
      if (invocation.overranLine) {
        // bootstrap.sh cut the drain at its limit itself (and killed what was left).
        return finish(deps, record, "overran", invocation.overranLine.replace(/^launchgate: /, ""));
      }
      return finish(
        deps,
        record,
        succeeded ? "drained" : "drain-failed",
        succeeded
          ? `drained in ${Math.round((now - record.startedAt) / 1000)}s`
          : `drain command ${record.commandId} ended ${invocation.status}${invocation.lastLine ? `: ${invocation.lastLine}` : ""}`,
      );
    }
  }
  if (now >= record.deadline) {
    return finish(
      deps,
      record,
      "overran",
      `drain overran its limit of ${drain.timeoutSeconds}s${record.commandId ? ` (command ${record.commandId} still running)` : " (no drain command was sent)"}`,
    );
  }
  let current = record;
  if (
    record.phase === "sending" &&
    (record.sentAt === undefined || now - record.sentAt >= SEND_CLAIM_SECONDS * 1000)
  ) {
    // Nobody claimed the send yet (a drain the reconciler rescued: rescue.ts), or its sender claimed it
    // and died before recording a command: send (again: a drain that runs twice only signals the app
    // twice and waits for the same containers).
    current = nextDrain(record, { sentAt: now });
    await deps.drains.save(current);
    await deps.rechecks.schedule(current.instanceId, current.token, pace(current, now));
    await send(deps, group, current);
    return;
  }
  current = await heartbeat(deps, current, now);
  await deps.rechecks.schedule(current.instanceId, current.token, pace(current, now));
}

/** Sends the drain command and records its id; a refusal (no agent, instance gone) ends the drain. */
async function send(deps: DrainDeps, group: RuntimeGroup, record: DrainRecord): Promise<void> {
  let commandId: string;
  try {
    const { Command } = await (deps.ssmCommands ?? deps.ssm).send(
      new SendCommandCommand({
        DocumentName: group.documentName,
        DocumentVersion: "$LATEST",
        InstanceIds: [record.instanceId],
        Parameters: { phase: ["drain"], trigger: ["scale-in"] },
        Comment: `${DRAIN_COMMENT_PREFIX}${record.token}`.slice(0, 100),
        TimeoutSeconds: DELIVERY_TIMEOUT_SECONDS,
        ...(deps.config.commandOutputLogGroup
          ? {
              CloudWatchOutputConfig: {
                CloudWatchOutputEnabled: true,
                CloudWatchLogGroupName: deps.config.commandOutputLogGroup,
              },
            }
          : {}),
      }),
    );
    if (!Command?.CommandId) throw new Error("SendCommand returned no command id");
    commandId = Command.CommandId;
  } catch (error) {
    if (isThrottling(error)) throw error; // retried: the re-check is already scheduled too
    return finish(deps, record, "not-sent", `drain command not sent: ${errorMessage(error)}`);
  }
  try {
    await deps.drains.save(nextDrain(record, { phase: "draining", commandId, sentAt: deps.now() }));
  } catch (error) {
    if (error instanceof StaleRecordError) return; // a newer writer (a re-check that resent) carries on
    throw error;
  }
  deps.log.info("drain command sent", { instanceId: record.instanceId, commandId });
}

/** Completes the hook with CONTINUE (never ABANDON: termination goes on) and records the outcome. */
async function finish(
  deps: DrainDeps,
  record: DrainRecord,
  outcome: DrainOutcome,
  reason: string,
): Promise<void> {
  let note = "";
  try {
    await deps.autoScaling.send(
      new CompleteLifecycleActionCommand({ ...lifecycleAction(record), LifecycleActionResult: "CONTINUE" }),
    );
  } catch (error) {
    if (!/No active Lifecycle Action found/i.test(errorMessage(error))) throw error;
    // Completed already (a racing re-check) or timed out to its default, CONTINUE: either way it went on.
    note = " (the hook was no longer waiting)";
  }
  // A rescued drain says so in its outcome too: the operator reading it learns the event was lost.
  const full = `${reason}${note}${record.rescued ? `; ${record.rescued}` : ""}`;
  try {
    await deps.drains.save(
      nextDrain(record, { phase: "done", outcome, reason: full, finishedAt: deps.now() }),
    );
  } catch (error) {
    if (!(error instanceof StaleRecordError)) throw error;
  }
  const log = outcome === "drained" ? deps.log.info : deps.log.warn;
  log.call(deps.log, `drain finished: ${outcome}`, { instanceId: record.instanceId, reason: full });
}

/** Heartbeats the hook when a third of its timeout has passed since the last one (or the wait began). */
async function heartbeat(deps: DrainDeps, record: DrainRecord, now: number): Promise<DrainRecord> {
  const group = deps.config.groups.find((candidate) => candidate.name === record.groupName);
  const timeoutMs = drainHeartbeatMs(group?.drain?.timeoutSeconds ?? 0);
  if (now - (record.lastHeartbeatAt ?? record.startedAt) < timeoutMs / 3) return record;
  try {
    await deps.autoScaling.send(new RecordLifecycleActionHeartbeatCommand(lifecycleAction(record)));
  } catch (error) {
    if (!/No active Lifecycle Action found/i.test(errorMessage(error))) throw error;
    return record;
  }
  const next = nextDrain(record, { lastHeartbeatAt: now });
  try {
    await deps.drains.save(next);
  } catch (error) {
    // Another writer moved the drain on; the chain of re-checks must go on regardless.
    if (!(error instanceof StaleRecordError)) throw error;
    return record;
  }
  return next;
}

/** The hook's heartbeat timeout, as the stack sets it (runtime-config.ts drainHookHeartbeatSeconds). */
function drainHeartbeatMs(timeoutSeconds: number): number {
  return drainHookHeartbeatSeconds(timeoutSeconds) * 1000;
}

/** The next look: every DRAIN_PACE_SECONDS, and just after the limit. */
function pace(record: DrainRecord, now: number): number {
  const untilLimit = Math.ceil((record.deadline - now) / 1000) + 1;
  return Math.max(1, Math.min(DRAIN_PACE_SECONDS, untilLimit));
}

async function readInvocation(
  deps: DrainDeps,
  commandId: string,
  instanceId: string,
): Promise<{ status: string; lastLine: string; overranLine?: string } | undefined> {
  try {
    const output = await deps.ssm.send(
      new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }),
    );
    const lines = (output.StandardOutputContent ?? "").trim().split("\n");
    const overranLine = lines.find((line) => line.includes("drain overran its limit"));
    return {
      status: String(output.Status ?? "Pending"),
      lastLine: lines.at(-1) ?? "",
      ...(overranLine ? { overranLine } : {}),
    };
  } catch (error) {
    // Just after SendCommand the invocation may not be visible yet.
    if (awsErrorName(error) === "InvocationDoesNotExist") return undefined;
    throw error;
  }
}

function isThrottling(error: unknown): boolean {
  return /Throttl|TooManyRequests|RequestLimitExceeded/i.test(awsErrorName(error));
}
