import type { RuntimeGroup } from "../config/runtime-config.js";
import { awsErrorName, errorMessage } from "../errors.js";
import {
  classifySendError,
  commandComment,
  DELIVERY_TIMEOUT_SECONDS,
  sendBootstrapCommand,
} from "./bootstrap-command.js";
import { type GateDeps, sleepOf } from "./deps.js";
import { abandonLaunch } from "./finish.js";
import { agentPaceSeconds, bootstrapDeadline, commandPaceSeconds } from "./gate-pacing.js";
import { scheduleRecheck } from "./keep-alive.js";
import { bootstrapNotSent } from "./reasons.js";
import { advance, type GateRecord } from "./record.js";

/**
 * Sending a wait's bootstrap command under a send claim: a conditional write of the `sending-command`
 * phase, so that of two invocations only one sends. The claim's lease says how long it is its sender's;
 * after that the agent step may take it over (takeOverClaim, start-gate.ts). Throttled sends are
 * retried here, under the claim.
 */

/**
 * A `sending-command` claim older than this was left by an invocation that died (the functions time
 * out after 30 s): it may be taken over. A younger one belongs to a live sender.
 */
export const SEND_CLAIM_TTL_SECONDS = 45;
/** The claim of a send whose outcome is unknown: SSM's delivery timeout, and a minute to report. */
export const UNKNOWN_SEND_LEASE_SECONDS = DELIVERY_TIMEOUT_SECONDS + 60;

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
export function claimTime(record: GateRecord): number {
  return record.claimedAt ?? record.phaseStartedAt;
}

/**
 * Claims the send (a conditional write: of two invocations only one sends), sends, schedules the
 * command re-check carrying the command id, and only then records the id — so whichever step fails,
 * something that can finish the job is already on its way. A send that failed for a reason a retry
 * can fix (agent not addressable yet, throttling, a server fault) puts the gate back to waiting for
 * the agent; one SSM refused (permissions, document, parameters) abandons at once, saying why.
 */
export async function sendBootstrap(deps: GateDeps, record: GateRecord, group: RuntimeGroup): Promise<void> {
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
