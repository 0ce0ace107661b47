import type { RuntimeGroup } from "../config/runtime-config.js";
import { awsErrorName, errorMessage, NotYetError, SkipEventError, StaleRecordError } from "../errors.js";
import type { LaunchEvent, RecheckEvent } from "../events/gate-event.js";
import { emitAll } from "../metrics/emit.js";
import { launchStartedMetrics } from "../metrics/launch-metrics.js";
import { abandonPastDeadline, loadActiveWait } from "./active-wait.js";
import { agentPing, isPollThrottled, throttledPaceSeconds } from "./batch-reads.js";
import {
  classifySendError,
  commandComment,
  DELIVERY_TIMEOUT_SECONDS,
  findSentCommand,
  sendBootstrapCommand,
} from "./bootstrap-command.js";
import { type GateDeps, groupConfig, sleepOf } from "./deps.js";
import { abandonLaunch, recordGone } from "./finish.js";
import {
  agentPaceSeconds,
  bootstrapDeadline,
  commandPaceSeconds,
  firstAgentCheckSeconds,
} from "./gate-pacing.js";
import { keepAlive, lookAgainAfterThrottle, scheduleRecheck, scheduleSeen } from "./keep-alive.js";
import { launchModeFor, waitStateOf } from "./launch-mode.js";
import { describeLifecycle, type InstanceLifecycle, isWaitingAtHook } from "./lifecycle-actions.js";
import { CHAIN_STEP_FOR_PHASE } from "./ports.js";
import { agentNeverOnline, bootstrapNotSent } from "./reasons.js";
import {
  advance,
  type GateRecord,
  isTokenless,
  type LaunchMode,
  TERMINAL_PHASES,
  tokenlessSightedAt,
} from "./record.js";
import { usableSeen } from "./seen.js";

/**
 * A `sending-command` claim older than this was left by an invocation that died (the functions time
 * out after 30 s): it may be taken over. A younger one belongs to a live sender.
 */
export const SEND_CLAIM_TTL_SECONDS = 45;
/** The claim of a send whose outcome is unknown: SSM's delivery timeout, and a minute to report. */
export const UNKNOWN_SEND_LEASE_SECONDS = DELIVERY_TIMEOUT_SECONDS + 60;

/**
 * How long after its wait began an event may still find the instance missing from
 * DescribeAutoScalingInstances because the API has not caught up, rather than because it is gone.
 */
export const LIFECYCLE_LAG_SECONDS = 120;

/** Lifecycle states an instance passes through just before a launch hook holds it (docs/aws-facts.md, lifecycle hooks). */
const BEFORE_WAIT_STATES = new Set(["Pending", "Warmed:Pending"]);

/**
 * True when the API's view of the instance may simply lag the launch event: Auto Scaling emits the
 * event as the instance enters the wait, but DescribeAutoScalingInstances can still say `Pending`, or
 * (for a young event) not list the instance at all. Such an event must be retried, not dropped: no
 * other event will start this wait's gate.
 */
export function lifecycleLagsEvent(
  lifecycle: InstanceLifecycle | undefined,
  waitStartedAt: number | undefined,
  now: number,
): boolean {
  if (lifecycle) return BEFORE_WAIT_STATES.has(lifecycle.state);
  return waitStartedAt !== undefined && now - waitStartedAt < LIFECYCLE_LAG_SECONDS * 1000;
}

/** How soon the agent step looks again when Auto Scaling's API has not caught up with its wait yet. */
const LIFECYCLE_LAG_RECHECK_SECONDS = 2;

/** Pauses before asking Auto Scaling again when its API has not caught up with the event yet. */
export const LIFECYCLE_LAG_PAUSES_MS = [1000, 2000, 4000] as const;

/**
 * The instance's lifecycle, asked again a few times, seconds apart, while Auto Scaling's API still lags
 * the event: a retry by Lambda comes only a minute later, and costs one of the event's three attempts.
 */
async function lifecycleCaughtUp(deps: GateDeps, event: LaunchEvent): Promise<InstanceLifecycle | undefined> {
  let lifecycle = await describeLifecycle(deps, event.instanceId);
  for (const pause of LIFECYCLE_LAG_PAUSES_MS) {
    if (!lifecycleLagsEvent(lifecycle, event.waitStartedAt, deps.now())) break;
    await sleepOf(deps)(pause);
    lifecycle = await describeLifecycle(deps, event.instanceId);
  }
  return lifecycle;
}

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
 * A launch event this young speaks for a wait that is still on: the hook holds the instance for at
 * least its heartbeat timeout (360 s or more), and Auto Scaling's API would only lag it (see
 * lifecycleLagsEvent). Asking would cost one to four DescribeAutoScalingInstances per launch to learn
 * nothing; a wait that did end meanwhile is caught before anything is sent to the instance (checkAgent).
 */
export function eventIsFresh(event: Pick<LaunchEvent, "waitStartedAt">, now: number): boolean {
  return event.waitStartedAt !== undefined && now - event.waitStartedAt < LIFECYCLE_LAG_SECONDS * 1000;
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
async function openOver(
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
    return scheduleRecheck(deps, opened, "agent", firstAgentCheckSeconds(opened), group);
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
      return scheduleRecheck(deps, opened, "agent", firstAgentCheckSeconds(opened), group);
  }
}

/** A duplicate or retried event of a wait the gate holds: re-kick its first step if it is still there. */
async function rekick(deps: GateDeps, group: RuntimeGroup, record: GateRecord): Promise<void> {
  if (!needsAgentStep(deps, record)) {
    throw new SkipEventError("duplicate launch event; the gate is already past its first step", {
      phase: record.phase,
    });
  }
  deps.log.info("duplicate launch event; re-kicking the gate's agent check", { phase: record.phase });
  await scheduleRecheck(deps, record, "agent", 0, group);
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

/**
 * An agent re-check arrived: is the agent Online yet? A live send claim does not end the chain: the
 * sender may yet fail, and its own reschedule with it (throttling hits both), so this re-check comes
 * back just after the claim's lease ends; by then the sender has either moved the gate on (and this
 * re-check drops as stale) or died (and this re-check takes over).
 */
export async function onAgentRecheck(deps: GateDeps, event: RecheckEvent): Promise<void> {
  const seenRound = await agentRoundBySeen(deps, event);
  if (seenRound === "done") return;
  const { record, group } = await loadActiveWait(
    deps,
    event.instanceId,
    event.token,
    ["awaiting-agent", "sending-command"],
    abandonPastDeadline,
    event.attempt !== undefined,
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
    await scheduleSeen(deps, event, seen, pace, group);
    return "done";
  }
  if (ping === "Online") return { ping };
  await scheduleSeen(deps, event, seen, agentPaceSeconds(paced, deps.now()), group);
  return "done";
}

/** An agent ping this invocation already has. */
interface KnownPing {
  readonly ping: string | undefined;
}

/**
 * Whole seconds left on a live `sending-command` claim, or undefined when there is none to respect:
 * the gate is waiting for the agent, or the claim outlived SEND_CLAIM_TTL_SECONDS (its sender died).
 */
export function sendClaimLeaseSeconds(record: GateRecord, now: number): number | undefined {
  if (record.phase !== "sending-command") return undefined;
  const leftMs = (record.claimLeaseSeconds ?? SEND_CLAIM_TTL_SECONDS) * 1000 - (now - claimTime(record));
  return leftMs < 0 ? undefined : Math.ceil(leftMs / 1000);
}

/**
 * When the current send claim was taken. Records written before claimedAt existed only have the
 * phase start, which was the claim time for a first claim.
 */
function claimTime(record: GateRecord): number {
  return record.claimedAt ?? record.phaseStartedAt;
}

/** Waiting for the agent, or a send claim left behind by an invocation that died. */
function needsAgentStep(deps: GateDeps, record: GateRecord): boolean {
  if (record.phase === "awaiting-agent") return true;
  return record.phase === "sending-command" && sendClaimLeaseSeconds(record, deps.now()) === undefined;
}

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
    return lookAgainAfterThrottle(deps, record, "agent", agentPaceSeconds(record, deps.now()), group);
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
  await scheduleRecheck(deps, kept, "agent", agentPaceSeconds(kept, deps.now()), group);
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

/**
 * Claims the send (a conditional write: of two invocations only one sends), sends, schedules the
 * command re-check carrying the command id, and only then records the id — so whichever step fails,
 * something that can finish the job is already on its way. A send that failed for a reason a retry
 * can fix (agent not addressable yet, throttling, a server fault) puts the gate back to waiting for
 * the agent; one SSM refused (permissions, document, parameters) abandons at once, saying why.
 */
async function sendBootstrap(deps: GateDeps, record: GateRecord, group: RuntimeGroup): Promise<void> {
  const claimedAt = deps.now();
  const claimed = advance(
    record,
    { phase: "sending-command", claimedAt, claimLeaseSeconds: undefined },
    "agent online; sending bootstrap",
    claimedAt,
  );
  await deps.store.save(claimed);
  let commandId: string;
  try {
    commandId = await sendThrottledAgain(deps, record.instanceId, claimedAt, () =>
      sendBootstrapCommand(deps, {
        documentName: group.documentName,
        instanceId: record.instanceId,
        bootstrapPhase: record.mode.bootstrapPhase,
        trigger: "launch",
        comment: commandComment(record.token),
      }),
    );
  } catch (error) {
    const failure = classifySendError(error);
    if (failure === "refused") {
      const reason = bootstrapNotSent(group.documentName, awsErrorName(error), errorMessage(error));
      await abandonLaunch(deps, claimed, reason);
      return;
    }
    if (failure === "unknown") {
      // SSM may have taken it: keep the claim, past SSM's delivery timeout (a command not yet
      // delivered may not be listed). Then the agent re-check takes it over and looks for this command
      // (by its comment) before sending anything again.
      const why = `${awsErrorName(error) || "Error"}: ${errorMessage(error)}`;
      deps.log.warn("bootstrap send got no clear answer; looking for it once the claim's lease ends", {
        error: why,
      });
      const held = advance(
        claimed,
        { claimLeaseSeconds: UNKNOWN_SEND_LEASE_SECONDS },
        `send got no clear answer (${why}); looking for the command before sending again`,
        deps.now(),
      );
      await scheduleRecheck(deps, held, "agent", UNKNOWN_SEND_LEASE_SECONDS + 1, group);
      await deps.store.save(held);
      return;
    }
    const why =
      failure === "agent-not-addressable"
        ? "agent not yet addressable (InvalidInstanceId)"
        : `transient: ${awsErrorName(error) || "Error"}: ${errorMessage(error)}`;
    deps.log.warn("bootstrap send failed; will retry", { error: why });
    const back = advance(claimed, { phase: "awaiting-agent" }, `send failed: ${why}`, deps.now());
    await scheduleRecheck(deps, back, "agent", agentPaceSeconds(back, deps.now()), group);
    await deps.store.save(back);
    return;
  }
  // The fallback for a lost status event (SSM delivers them best-effort; docs/aws-facts.md, events) and
  // the heartbeat while the command runs. Should the save below fail, the command is still adopted, not
  // sent again: by its status event or this re-check (both read its comment), or by the agent re-check
  // that retries this step, which finds the claim and looks the command up once the lease ends.
  await scheduleRecheck(deps, claimed, "command", commandPaceSeconds(claimed, deps.now()), group, commandId);
  const now = deps.now();
  const sent = advance(
    claimed,
    {
      phase: "bootstrapping",
      commandId,
      phaseDeadline: bootstrapDeadline(group, now),
    },
    `bootstrap command ${commandId} sent (phase ${record.mode.bootstrapPhase})`,
    now,
  );
  await deps.store.save(sent);
  deps.log.info("bootstrap command sent", { commandId, bootstrapPhase: record.mode.bootstrapPhase });
}

/** Throttled SendCommands retried in place, under the claim, before the step gives the claim back. */
export const SEND_THROTTLE_RETRIES = 4;
const SEND_RETRY_BASE_MS = 400;
/**
 * The retries end this long after the claim was taken, far inside its lease (SEND_CLAIM_TTL_SECONDS):
 * a send must never outlive its claim, or a takeover could look for the command before it exists.
 */
export const SEND_RETRY_WINDOW_MS = 12_000;

/**
 * Sends, and sends again after a pause when SSM throttled the request — a throttling error means SSM
 * refused the request before running it (classifySendError: `transient`), so sending again cannot
 * start a second bootstrap. The claim is still this invocation's: retrying here costs one SendCommand
 * attempt each, where giving the claim back costs the whole agent step again (its record read, agent
 * poll, lifecycle look and two saves). Every other error, the last throttle, or one that would end past
 * SEND_RETRY_WINDOW_MS, is thrown for the caller to classify. Pauses double from 400 ms, each spread
 * over its upper half by the instance id, so a burst's throttled sends do not come back together.
 */
export async function sendThrottledAgain(
  deps: GateDeps,
  instanceId: string,
  claimedAt: number,
  send: () => Promise<string>,
): Promise<string> {
  for (let retry = 0; ; retry += 1) {
    try {
      return await send();
    } catch (error) {
      if (classifySendError(error) !== "transient" || retry >= SEND_THROTTLE_RETRIES) throw error;
      const ceiling = SEND_RETRY_BASE_MS * 2 ** retry;
      const pause = Math.round(ceiling / 2 + (ceiling / 2) * spread(instanceId, retry));
      if (deps.now() + pause - claimedAt > SEND_RETRY_WINDOW_MS) throw error;
      deps.log.info("bootstrap send throttled; sending again under the claim", { retry: retry + 1, pause });
      await sleepOf(deps)(pause);
    }
  }
}

/** A fraction in [0, 1) fixed by the instance and the retry: jitter that tests and replays can repeat. */
function spread(instanceId: string, retry: number): number {
  let hash = 2166136261;
  for (const char of `${instanceId}#${retry}`) hash = Math.imul(hash ^ char.charCodeAt(0), 16777619);
  return (hash >>> 0) / 2 ** 32;
}
