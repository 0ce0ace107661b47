import type { RuntimeGroup } from "../config/runtime-config.js";
import { SkipEventError } from "../errors.js";
import type { LaunchEvent } from "../events/gate-event.js";
import { emitAll } from "../metrics/emit.js";
import { launchStartedMetrics } from "../metrics/launch-metrics.js";
import type { GateDeps } from "./deps.js";
import { firstAgentCheckSeconds } from "./gate-pacing.js";
import { scheduleRecheck } from "./keep-alive.js";
import { launchModeFor, waitStateOf } from "./launch-mode.js";
import { CHAIN_STEP_FOR_PHASE } from "./ports.js";
import {
  advance,
  type GateRecord,
  isTokenless,
  type LaunchMode,
  TERMINAL_PHASES,
  tokenlessSightedAt,
} from "./record.js";
import { sendClaimLeaseSeconds } from "./send-bootstrap.js";
import { nextRound } from "./watched-rounds.js";

/**
 * Opening the gate record for a launch event's wait: a new wait's record, and how the event is
 * reconciled with a record the instance already has (a duplicate event, the reconciler's sighting or
 * adoption of this very wait, or another wait's record). startGate (start-gate.ts) retries openOver
 * when the record changes under it.
 */

/** A new wait's record, counting its heartbeat and deadlines from when the wait began. */
export function openRecord(deps: GateDeps, event: LaunchEvent, group: RuntimeGroup): GateRecord {
  const now = deps.now();
  // The hook started holding the instance when the event was emitted, maybe minutes ago if this is an
  // EventBridge retry: heartbeats and deadlines count from then, not from when we got to it.
  const waitStart = Math.min(now, event.waitStartedAt ?? now);
  return {
    instanceId: event.instanceId,
    groupName: event.groupName,
    hookName: event.hookName,
    token: event.token,
    mode: launchModeFor(event.origin, event.destination),
    phase: "awaiting-agent",
    startedAt: waitStart,
    phaseStartedAt: now,
    deadline: waitStart + group.gateTimeoutSeconds * 1000,
    lastHeartbeatAt: waitStart,
    phaseDeadline: waitStart + group.agentTimeoutSeconds * 1000,
    registered: [],
    history: [
      {
        at: now,
        phase: "awaiting-agent",
        note: `launch event received (${event.origin} → ${event.destination})`,
      },
    ],
    version: 1,
  };
}

/**
 * How a launch event relates to the record already held for its instance:
 * - `this-wait`: the record is the event's own wait (a duplicate or retried event);
 * - `placeholder`: the reconciler's sighting of this very wait, before anything started: replace it;
 * - `tokenless`: this very wait, already adopted and driven by the reconciler without a token: keep
 *   its progress (a command may be running), and give it its token;
 * - `earlier-wait`: the record is of a wait that began before this one, so has ended (an instance is
 *   in one wait at a time): replace it;
 * - `later-wait`: the record is of a wait that began after this event's: the event is late (EventBridge
 *   and Lambda retry for up to an hour) and its wait is over: drop it.
 */
export type RecordFound = "this-wait" | "placeholder" | "tokenless" | "earlier-wait" | "later-wait";

/**
 * Judges the record found for a launch event's instance (see RecordFound) by the one order both
 * carry: when their waits began. A tokenless record knows only that its wait had begun by its
 * sighting; a live one held in the same lifecycle state whose sighting came after the event's wait
 * began is that wait (a warm-pool instance waits twice, but its two waits are in different states:
 * waitStateOf). The mode itself may differ: a sighting that could not tell a move out of the pool from
 * a direct launch runs `all`, which does all that `start` does.
 */
export function judgeRecordFound(
  found: GateRecord,
  event: Pick<LaunchEvent, "token" | "waitStartedAt">,
  mode: LaunchMode,
): RecordFound {
  if (found.token === event.token) return "this-wait";
  const foundBegan = tokenlessSightedAt(found.token) ?? found.startedAt;
  const eventBegan = event.waitStartedAt;
  const eventNotLater = eventBegan === undefined || eventBegan <= foundBegan;
  if (
    isTokenless(found) &&
    !TERMINAL_PHASES.has(found.phase) &&
    waitStateOf(found.mode) === waitStateOf(mode) &&
    eventNotLater
  ) {
    return found.phase === "sighted" ? "placeholder" : "tokenless";
  }
  return eventBegan !== undefined && eventBegan < foundBegan ? "later-wait" : "earlier-wait";
}

/**
 * Opens the gate over what the store held when last read (`found`; undefined: nothing, or not read
 * yet). Every write is conditional on exactly that, so a record that changed since is never lost: the
 * write fails with StaleRecordError and the caller reads again.
 */
export async function openOver(
  deps: GateDeps,
  group: RuntimeGroup,
  event: LaunchEvent,
  opened: GateRecord,
  found: GateRecord | undefined,
  zone: string | undefined,
): Promise<void> {
  if (!found) {
    await deps.store.save(opened);
    deps.log.info("launch gate opened", { mode: opened.mode, zone });
    emitAll(deps, launchStartedMetrics(group.name));
    return nextRound(deps, "agent", opened, group, firstAgentCheckSeconds(opened));
  }
  const judged = judgeRecordFound(found, event, opened.mode);
  switch (judged) {
    case "this-wait":
      return rekick(deps, group, found);
    case "later-wait":
      throw new SkipEventError("launch event of an earlier wait; the instance has moved on to a later one", {
        current: found.token,
        phase: found.phase,
      });
    case "tokenless":
      return giveToken(deps, group, found, event.token);
    case "placeholder":
    case "earlier-wait":
      await deps.store.save(opened, { replacing: found });
      deps.log.info("launch gate opened", { mode: opened.mode, zone, replaced: found.token });
      emitAll(deps, launchStartedMetrics(group.name));
      return nextRound(deps, "agent", opened, group, firstAgentCheckSeconds(opened));
  }
}

/**
 * A duplicate or retried event of a wait the gate holds: re-kick its first step if it is still there.
 * A send claim still held gets a re-check for when its lease ends, as the agent step would schedule:
 * the event may be a retry of one whose handler saved the record and then failed to send the first
 * re-check, and the claim's sender (the group's watch, running the step for the wait) keeps its own
 * rounds back, counting on that re-check — should the sender die, nothing else would come back to the
 * wait. A re-check that finds the gate moved on drops as stale.
 */
async function rekick(deps: GateDeps, group: RuntimeGroup, record: GateRecord): Promise<void> {
  if (record.phase !== "awaiting-agent" && record.phase !== "sending-command") {
    throw new SkipEventError("duplicate launch event; the gate is already past its first step", {
      phase: record.phase,
    });
  }
  const leaseLeft = sendClaimLeaseSeconds(record, deps.now());
  const delaySeconds = leaseLeft === undefined ? 0 : leaseLeft + 1;
  deps.log.info("duplicate launch event; re-kicking the gate's agent check", {
    phase: record.phase,
    delaySeconds,
  });
  await scheduleRecheck(deps, record, "agent", delaySeconds, group);
}

/**
 * The reconciler adopted this very wait before its event came, and may be well into it (a command
 * running, targets registered): restarting would send a second bootstrap. Keep its progress and give
 * it its token, which pins every later lifecycle call to this one wait. The chain restarts under the
 * token before the save: re-checks carrying the old id will drop as an earlier wait's, and if the save
 * fails, the new chain's re-check drops instead. The old id is kept (formerToken): a command sent
 * under it is still this wait's.
 */
async function giveToken(
  deps: GateDeps,
  group: RuntimeGroup,
  record: GateRecord,
  token: string,
): Promise<void> {
  const now = deps.now();
  const named = advance(
    record,
    { token, formerToken: record.token },
    `lifecycle event arrived; the wait goes by its token from now on (was ${record.token})`,
    now,
  );
  await scheduleRecheck(deps, named, CHAIN_STEP_FOR_PHASE[named.phase] ?? "agent", 0, group, named.commandId);
  await deps.store.save(named, { replacing: record });
  deps.log.info("lifecycle event arrived for a wait the reconciler adopted; keeping its progress", {
    phase: named.phase,
    formerToken: record.token,
  });
}
