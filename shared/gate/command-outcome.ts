import { SkipEventError } from "../errors.js";
import type { CommandFinishedEvent, RecheckEvent } from "../events/gate-event.js";
import { type ActiveWait, abandonPastDeadline, loadActiveWait } from "./active-wait.js";
import { isPollThrottled } from "./batch-reads.js";
import { type CommandInvocation, getInvocation, isCommandOfWait } from "./bootstrap-command.js";
import type { GateDeps } from "./deps.js";
import { abandonLaunch, continueLaunch } from "./finish.js";
import { bootstrapDeadline, commandPaceSeconds } from "./gate-pacing.js";
import { beginHealthGate } from "./health-gate.js";
import { keepAlive, lookAgainAfterThrottle, scheduleRecheck } from "./keep-alive.js";
import { bootstrapExecutionTimedOut, bootstrapFailed, bootstrapTimedOut } from "./reasons.js";
import { advance, type GateRecord } from "./record.js";

/**
 * The bootstrap's outcome reaches us two ways: the SSM status-change event (fast, best-effort) and our
 * own command re-check (slow, certain). Whichever sees the final status first moves the gate on; the
 * other then finds the gate in a later phase and stops.
 */

/** SSM reported a (possibly) final status for a command on an instance. */
export async function onCommandFinished(deps: GateDeps, event: CommandFinishedEvent): Promise<void> {
  const wait = await loadActiveWait(deps, event.instanceId, undefined, ["bootstrapping", "sending-command"]);
  if (event.status === "Success" && wait.record.commandId === event.commandId) {
    // Only AWS can put `aws.ssm` events on the bus, so the status is SSM's own word; the gate's own
    // command succeeding needs no output, so no GetCommandInvocation. A failure is read in full, for
    // its reason; a command the record does not name yet is read for its comment (adoption).
    return settle(deps, wait, event.commandId, SUCCEEDED);
  }
  const invocation = await getInvocation(deps, event.commandId, event.instanceId);
  const adopted = adoption(deps, wait, event.commandId, invocation);
  if (!invocation?.terminal) {
    // The wait's own rounds follow it: the command's re-check, or — for a command the record does not
    // name yet — the send claim's (takeOverClaim adopts it). Adopting here would start a second chain.
    throw new SkipEventError("command not final yet; the wait's own re-check will follow it", {
      status: invocation?.status,
    });
  }
  // A final outcome for a command the record does not name yet: the adoption goes into the save that
  // settles it, so the wait never sits in `bootstrapping` with no command chain. Until that save it stays
  // in `sending-command`, where the send claim's own round comes back to it (takeOverClaim).
  const settling = adopted ? { ...wait, record: { ...adopted, version: wait.record.version } } : wait;
  await settle(deps, settling, event.commandId, invocation);
}

/** A success as the status-change event reports it: no output to read. */
const SUCCEEDED: CommandInvocation = {
  status: "Success",
  statusDetails: "Success",
  terminal: true,
  succeeded: true,
  stdout: "",
  stderr: "",
  comment: "",
};

/** Our periodic look at the running bootstrap: the fallback for a lost event, and the heartbeat. */
export async function onCommandRecheck(deps: GateDeps, event: RecheckEvent): Promise<void> {
  let wait = await loadActiveWait(
    deps,
    event.instanceId,
    event.token,
    ["bootstrapping", "sending-command"],
    abandonPastDeadline,
    event,
  );
  const commandId = wait.record.commandId ?? event.commandId ?? "";
  let invocation: CommandInvocation | undefined;
  try {
    invocation = await getInvocation(deps, commandId, wait.record.instanceId);
  } catch (error) {
    if (!isPollThrottled(error)) throw error;
    const pace = commandPaceSeconds(wait.record, deps.now());
    return lookAgainAfterThrottle(deps, wait.record, "command", pace, wait.group, commandId);
  }
  if (wait.record.phase === "sending-command" && invocation) {
    // The sender scheduled this re-check, then died before saving the command id.
    const adopted = adoption(deps, wait, commandId, invocation);
    if (adopted) {
      await deps.store.save(adopted);
      wait = { ...wait, record: adopted };
    }
  }
  const { record, group } = wait;
  if (invocation?.terminal && record.phase === "bootstrapping")
    return settle(deps, wait, commandId, invocation);
  // Still `sending-command`: the command is not visible yet, and the bootstrap's clock has not started.
  if (record.phase === "bootstrapping" && deps.now() >= (record.phaseDeadline ?? record.deadline)) {
    const reason = bootstrapTimedOut(
      commandId,
      group.bootstrapTimeoutSeconds,
      invocation?.status ?? "unknown",
    );
    await abandonLaunch(deps, record, reason);
    return;
  }
  const kept = await keepAlive(deps, record, group.heartbeatTimeoutSeconds);
  await scheduleRecheck(deps, kept, "command", commandPaceSeconds(kept, deps.now()), group, commandId);
}

/**
 * The event's command must be the gate's. A record still in `sending-command` means the process died
 * between SendCommand and saving its id: the command's comment carries the wait's token (or the
 * tokenless id it had when the command was sent), so it is ours. Returns the record that adopts it
 * (not saved), or undefined when the record names it already.
 */
function adoption(
  deps: GateDeps,
  wait: ActiveWait,
  commandId: string,
  invocation: CommandInvocation | undefined,
): GateRecord | undefined {
  const { record, group } = wait;
  if (record.commandId === commandId) return undefined;
  if (record.phase === "sending-command" && isCommandOfWait(record, invocation?.comment)) {
    const now = deps.now();
    return advance(
      record,
      { phase: "bootstrapping", commandId, phaseDeadline: bootstrapDeadline(group, now) },
      `adopted command ${commandId}`,
      now,
    );
  }
  throw new SkipEventError("command is not the gate's current bootstrap", {
    commandId,
    current: record.commandId,
  });
}

async function settle(
  deps: GateDeps,
  wait: ActiveWait,
  commandId: string,
  invocation: CommandInvocation,
): Promise<void> {
  const { record } = wait;
  deps.log.info("bootstrap finished", { commandId, status: invocation.statusDetails });
  if (invocation.status === "TimedOut") {
    await abandonLaunch(
      deps,
      record,
      bootstrapExecutionTimedOut(commandId, wait.group.bootstrapTimeoutSeconds, invocation),
    );
    return;
  }
  if (!invocation.succeeded) {
    await abandonLaunch(deps, record, bootstrapFailed(commandId, invocation));
    return;
  }
  if (!record.mode.needsTraffic) {
    await continueLaunch(
      deps,
      record,
      `bootstrap (${record.mode.bootstrapPhase}) succeeded; warm-pool instance serves no traffic yet`,
    );
    return;
  }
  await beginHealthGate(deps, wait);
}
