import type { RuntimeGroup } from "../config/runtime-config.js";
import { NotYetError, SkipEventError, StaleRecordError } from "../errors.js";
import type { LaunchEvent, RecheckEvent } from "../events/gate-event.js";
import { abandonPastDeadline, loadActiveWait } from "./active-wait.js";
import { agentPing, isPollThrottled, throttledPaceSeconds } from "./batch-reads.js";
import { findSentCommand } from "./bootstrap-command.js";
import { type GateDeps, groupConfig } from "./deps.js";
import { abandonLaunch, recordGone } from "./finish.js";
import { agentPaceSeconds, bootstrapDeadline } from "./gate-pacing.js";
import { keepAlive, scheduleRecheck } from "./keep-alive.js";
import { describeLifecycle, isWaitingAtHook } from "./lifecycle-actions.js";
import {
  eventIsFresh,
  LIFECYCLE_LAG_RECHECK_SECONDS,
  LIFECYCLE_LAG_SECONDS,
  lifecycleCaughtUp,
  lifecycleLagsEvent,
} from "./lifecycle-lag.js";
import { openOver, openRecord } from "./open-wait.js";
import { agentNeverOnline } from "./reasons.js";
import { advance, type GateRecord } from "./record.js";
import { usableSeen } from "./seen.js";
import { claimTime, sendBootstrap, sendClaimLeaseSeconds } from "./send-bootstrap.js";
import { carryOnAfterWatchSave, nextRound, nextSeenRound } from "./watched-rounds.js";

/**
 * The gate's first two steps: the launch event opens the wait's record (startGate; the record itself
 * in open-wait.ts), and the agent step waits for the SSM agent, then sends the bootstrap
 * (send-bootstrap.ts) or takes over a send claim whose sender died. lifecycle-lag.ts tells Auto
 * Scaling's API lagging the event apart from a wait that has ended.
 */

/**
 * A launch lifecycle action arrived: open the gate record for this wait and start its re-check chain.
 * The work happens in the chain (SQS: five receives, redelivered after a failure), not here (EventBridge:
 * three attempts), and a retried or duplicate event for a live wait kicks the chain again instead of
 * being dropped — so a failure anywhere after the record was saved cannot leave the wait undriven.
 * A record the instance already has is judged first (judgeRecordFound) and only ever replaced exactly
 * as read: a late event must not restart, or overwrite, a wait that is further along or newer.
 */
export async function startGate(deps: GateDeps, event: LaunchEvent): Promise<void> {
  const group = groupConfig(deps.config, event.groupName);
  if (event.hookName !== group.hookName) {
    throw new SkipEventError("hook is not launchgate's", {
      hookName: event.hookName,
      expected: group.hookName,
    });
  }
  const zone = eventIsFresh(event, deps.now()) ? undefined : await confirmStillWaiting(deps, event);
  const opened = openRecord(deps, event, group);
  // Optimistic: most launches find no record. A lost race means another writer changed the record
  // between our read and our write; read again and decide again.
  let found: GateRecord | undefined;
  for (let attempt = 1; attempt <= OPEN_ATTEMPTS; attempt += 1) {
    try {
      return await openOver(deps, group, event, opened, found, zone);
    } catch (error) {
      if (!(error instanceof StaleRecordError)) throw error;
      found = await deps.store.load(event.instanceId);
    }
  }
  // Not a skip: the event must come back (EventBridge / Lambda retries), or nobody starts this wait.
  throw new Error(`the gate record changed on each of ${OPEN_ATTEMPTS} attempts to open the gate; retry`);
}

/**
 * An older event (an EventBridge or Lambda retry) may be of a wait that has ended: Auto Scaling must
 * show the instance still waiting. Returns its zone.
 */
async function confirmStillWaiting(deps: GateDeps, event: LaunchEvent): Promise<string | undefined> {
  const lifecycle = await lifecycleCaughtUp(deps, event);
  if (lifecycleLagsEvent(lifecycle, event.waitStartedAt, deps.now())) {
    throw new NotYetError("Auto Scaling does not show the instance waiting at the hook yet; retry", {
      lifecycleState: lifecycle?.state ?? "absent",
    });
  }
  if (!isWaitingAtHook(lifecycle)) {
    throw new SkipEventError("instance is not waiting at the hook", {
      lifecycleState: lifecycle?.state ?? "absent",
    });
  }
  return lifecycle?.availabilityZone;
}

/** Writes before an event gives up on a record that keeps changing under it, and is retried. */
const OPEN_ATTEMPTS = 3;

/**
 * An agent re-check arrived: is the agent Online yet? A live send claim does not end the chain: the
 * sender may yet fail, and its own reschedule with it (throttling hits both), so this re-check comes
 * back just after the claim's lease ends; by then the sender has either moved the gate on (and this
 * re-check drops as stale) or died (and this re-check takes over).
 */
export async function onAgentRecheck(deps: GateDeps, event: RecheckEvent): Promise<void> {
  try {
    await agentRound(deps, event);
  } catch (error) {
    if (error instanceof StaleRecordError) await carryOnAfterWatchSave(deps, event, "agent", AGENT_PHASES);
    throw error;
  }
}

/** The phases the agent step drives: waiting for the agent, and sending the bootstrap under a claim. */
const AGENT_PHASES = ["awaiting-agent", "sending-command"] as const;

async function agentRound(deps: GateDeps, event: RecheckEvent): Promise<void> {
  const seenRound = await agentRoundBySeen(deps, event);
  if (seenRound === "done") return;
  const { record, group } = await loadActiveWait(
    deps,
    event.instanceId,
    event.token,
    AGENT_PHASES,
    abandonPastDeadline,
    event,
  );
  const leaseLeft = sendClaimLeaseSeconds(record, deps.now());
  if (leaseLeft === undefined) {
    if (record.phase === "sending-command") return takeOverClaim(deps, record, group);
    return checkAgent(deps, record, group, seenRound);
  }
  const delaySeconds = leaseLeft + 1;
  deps.log.info("another invocation holds the send claim; re-checking when its lease ends", {
    delaySeconds,
    claimedAt: claimTime(record),
  });
  // A long lease (a send of unknown outcome) outlasts a heartbeat period: keep the hook alive meanwhile.
  const kept = await keepAlive(deps, record, group.heartbeatTimeoutSeconds);
  await scheduleRecheck(deps, kept, "agent", delaySeconds, group, event.commandId);
}

/**
 * A round that goes by what the re-check carries (seen.ts), without reading the record: while the
 * agent is not Online nothing changes, so the next round is scheduled as seen ("done"). An Online agent
 * (or a re-check that carries nothing usable: undefined) runs the step in full, reading the record;
 * the ping is handed on so the step does not ask again.
 */
async function agentRoundBySeen(
  deps: GateDeps,
  event: RecheckEvent,
): Promise<"done" | KnownPing | undefined> {
  const seen = usableSeen(event, deps.now());
  if (!seen) return undefined;
  const group = groupConfig(deps.config, seen.groupName);
  const paced = { startedAt: seen.startedAt, mode: { bootstrapPhase: seen.bootstrapPhase } };
  let ping: string | undefined;
  try {
    ping = await agentPing(deps, event.instanceId);
  } catch (error) {
    if (!isPollThrottled(error)) throw error;
    const pace = throttledPaceSeconds(agentPaceSeconds(paced, deps.now()));
    await nextSeenRound(deps, event, seen, group, pace);
    return "done";
  }
  if (ping === "Online") return { ping };
  await nextSeenRound(deps, event, seen, group, agentPaceSeconds(paced, deps.now()));
  return "done";
}

/** An agent ping this invocation already has. */
interface KnownPing {
  readonly ping: string | undefined;
}

async function checkAgent(
  deps: GateDeps,
  record: GateRecord,
  group: RuntimeGroup,
  known?: KnownPing,
): Promise<void> {
  let ping: string | undefined;
  try {
    ping = known ? known.ping : await agentPing(deps, record.instanceId);
  } catch (error) {
    if (!isPollThrottled(error)) throw error;
    deps.log.info("poll throttled; looking again later", { step: "agent" });
    const kept = await keepAlive(deps, record, group.heartbeatTimeoutSeconds);
    return nextRound(deps, "agent", kept, group, throttledPaceSeconds(agentPaceSeconds(record, deps.now())));
  }
  if (ping === "Online") {
    // The steps before this one do not ask Auto Scaling (see loadActiveWait); the first thing done to
    // the instance itself waits for its confirmation that the instance is still at the hook.
    const lifecycle = await describeLifecycle(deps, record.instanceId);
    const now = deps.now();
    // An agent Online at once (an instance out of a Running warm pool never stopped) can be seen before
    // Auto Scaling's API lists the new wait: `Pending` then is lag, not an instance gone. Look again soon.
    if (
      !isWaitingAtHook(lifecycle) &&
      now - record.startedAt < LIFECYCLE_LAG_SECONDS * 1000 &&
      lifecycleLagsEvent(lifecycle, record.startedAt, now)
    ) {
      const kept = await keepAlive(deps, record, group.heartbeatTimeoutSeconds);
      await scheduleRecheck(deps, kept, "agent", LIFECYCLE_LAG_RECHECK_SECONDS, group);
      return;
    }
    if (!isWaitingAtHook(lifecycle)) {
      await recordGone(deps, record, lifecycle);
      throw new SkipEventError("instance left the wait", { lifecycleState: lifecycle?.state ?? "absent" });
    }
    // Moving on is no reason to skip a heartbeat that is due: the next re-check is a phase's pace away.
    // The send claim's save records it.
    const kept = await keepAlive(deps, record, group.heartbeatTimeoutSeconds, { saveWithCaller: true });
    return sendBootstrap(deps, kept, group);
  }
  if (deps.now() >= (record.phaseDeadline ?? record.deadline)) {
    await abandonLaunch(deps, record, agentNeverOnline(group.agentTimeoutSeconds, ping));
    return;
  }
  const kept = await keepAlive(deps, record, group.heartbeatTimeoutSeconds);
  await nextRound(deps, "agent", kept, group, agentPaceSeconds(kept, deps.now()));
}

/**
 * A send claim whose lease ran out: its sender died before sending — or after sending, before it could
 * record the command (its save lost a race with a heartbeat, or was throttled). Sending blindly would
 * run a second bootstrap alongside the first, so look first: a command of this wait already sent is
 * adopted; only when there is none is the claim released and the agent checked (and the bootstrap
 * sent) afresh. The only caller of ListCommands: it runs only after a sender died or lost its save.
 */
async function takeOverClaim(deps: GateDeps, record: GateRecord, group: RuntimeGroup): Promise<void> {
  const sent = await findSentCommand(deps, record, record.startedAt);
  const now = deps.now();
  if (sent) {
    const adopted = advance(
      record,
      { phase: "bootstrapping", commandId: sent.commandId, phaseDeadline: bootstrapDeadline(group, now) },
      `adopted command ${sent.commandId}: sent under a send claim that expired before it was recorded`,
      now,
    );
    // Look at it at once: it may have finished while nobody recorded it.
    await scheduleRecheck(deps, adopted, "command", 0, group, sent.commandId);
    await deps.store.save(adopted);
    deps.log.warn("expired send claim had sent its command; adopted it instead of sending again", {
      commandId: sent.commandId,
    });
    return;
  }
  const ageSeconds = Math.round((now - claimTime(record)) / 1000);
  const released = advance(
    record,
    { phase: "awaiting-agent", claimLeaseSeconds: undefined },
    `send claim taken ${ageSeconds} s ago expired with no command sent; checking the agent again`,
    now,
  );
  await deps.store.save(released);
  await checkAgent(deps, released, group);
}
