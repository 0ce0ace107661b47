import type { RuntimeGroup } from "../config/runtime-config.js";
import { awsErrorName, errorMessage, NotYetError, SkipEventError, StaleRecordError } from "../errors.js";
import type { LaunchEvent, RecheckEvent } from "../events/gate-event.js";
import { loadActiveWait } from "./active-wait.js";
import {
  agentPingStatus,
  classifySendError,
  commandComment,
  sendBootstrapCommand,
} from "./bootstrap-command.js";
import { type GateDeps, groupConfig } from "./deps.js";
import { abandonLaunch } from "./finish.js";
import { keepAlive, scheduleRecheck } from "./keep-alive.js";
import { launchModeFor } from "./launch-mode.js";
import { describeLifecycle, type InstanceLifecycle, isWaitingAtHook } from "./lifecycle-actions.js";
import { agentNeverOnline, bootstrapNotSent } from "./reasons.js";
import { advance, type GateRecord } from "./record.js";

/** How often to look for the SSM agent: new agents register within seconds to a few minutes. */
export const AGENT_PACE_SECONDS = 15;
/** How often to look at a running bootstrap when its status event has not arrived (the fallback). */
export const COMMAND_PACE_SECONDS = 60;
/** Beyond the document's own execution timeout, time for SSM to report the outcome. */
const COMMAND_REPORT_SLACK_SECONDS = 120;

/** When a bootstrap sent (or adopted) at `now` is overdue: its execution timeout plus reporting slack. */
export function bootstrapDeadline(group: RuntimeGroup, now: number): number {
  return now + (group.bootstrapTimeoutSeconds + COMMAND_REPORT_SLACK_SECONDS) * 1000;
}
/**
 * A `sending-command` claim older than this was left by an invocation that died (the functions time
 * out after 30 s): it may be taken over. A younger one belongs to a live sender.
 */
export const SEND_CLAIM_TTL_SECONDS = 45;

/**
 * How long after its wait began an event may still find the instance missing from
 * DescribeAutoScalingInstances because the API has not caught up, rather than because it is gone.
 */
export const LIFECYCLE_LAG_SECONDS = 120;

/** Lifecycle states an instance passes through just before a launch hook holds it (AWS-FACTS §1). */
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

/**
 * A launch lifecycle action arrived: open the gate record for this wait and start its re-check chain.
 * The work happens in the chain (SQS: five receives, redelivered after a failure), not here (EventBridge:
 * three attempts), and a retried or duplicate event for a live wait kicks the chain again instead of
 * being dropped — so a failure anywhere after the record was saved cannot leave the wait undriven.
 */
export async function startGate(deps: GateDeps, event: LaunchEvent): Promise<void> {
  const group = groupConfig(deps.config, event.groupName);
  if (event.hookName !== group.hookName) {
    throw new SkipEventError("hook is not launchgate's", {
      hookName: event.hookName,
      expected: group.hookName,
    });
  }
  const lifecycle = await describeLifecycle(deps, event.instanceId);
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
  const record = openRecord(deps, event, group);
  try {
    await deps.store.save(record);
    deps.log.info("launch gate opened", { mode: record.mode, zone: lifecycle?.availabilityZone });
  } catch (error) {
    if (!(error instanceof StaleRecordError)) throw error;
    const existing = await deps.store.load(event.instanceId);
    if (!existing || existing.token !== event.token || !needsAgentStep(deps, existing)) {
      throw new SkipEventError("duplicate launch event; the gate is already past its first step", {
        phase: existing?.phase,
      });
    }
    deps.log.info("duplicate launch event; re-kicking the gate's agent check", { phase: existing.phase });
  }
  await scheduleRecheck(deps, record, "agent", 0, group);
}

/**
 * An agent re-check arrived: is the agent Online yet? A live send claim does not end the chain: the
 * sender may yet fail, and its own reschedule with it (throttling hits both), so this re-check comes
 * back just after the claim's lease ends; by then the sender has either moved the gate on (and this
 * re-check drops as stale) or died (and this re-check takes over).
 */
export async function onAgentRecheck(deps: GateDeps, event: RecheckEvent): Promise<void> {
  const { record, group } = await loadActiveWait(deps, event.instanceId, event.token, [
    "awaiting-agent",
    "sending-command",
  ]);
  const leaseLeft = sendClaimLeaseSeconds(record, deps.now());
  if (leaseLeft === undefined) return checkAgent(deps, record, group);
  const delaySeconds = leaseLeft + 1;
  deps.log.info("another invocation holds the send claim; re-checking when its lease ends", {
    delaySeconds,
    claimedAt: record.phaseStartedAt,
  });
  await scheduleRecheck(deps, record, "agent", delaySeconds, group, event.commandId);
}

/**
 * Whole seconds left on a live `sending-command` claim, or undefined when there is none to respect:
 * the gate is waiting for the agent, or the claim outlived SEND_CLAIM_TTL_SECONDS (its sender died).
 */
export function sendClaimLeaseSeconds(record: GateRecord, now: number): number | undefined {
  if (record.phase !== "sending-command") return undefined;
  const leftMs = SEND_CLAIM_TTL_SECONDS * 1000 - (now - record.phaseStartedAt);
  return leftMs < 0 ? undefined : Math.ceil(leftMs / 1000);
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

async function checkAgent(deps: GateDeps, record: GateRecord, group: RuntimeGroup): Promise<void> {
  const ping = await agentPingStatus(deps, record.instanceId);
  if (ping === "Online") return sendBootstrap(deps, record, group);
  if (deps.now() >= (record.phaseDeadline ?? record.deadline)) {
    await abandonLaunch(deps, record, agentNeverOnline(group.agentTimeoutSeconds, ping));
    return;
  }
  const kept = await keepAlive(deps, record, group.heartbeatTimeoutSeconds);
  await scheduleRecheck(deps, kept, "agent", AGENT_PACE_SECONDS, group);
}

/**
 * Claims the send (a conditional write: of two invocations only one sends), sends, schedules the
 * command re-check carrying the command id, and only then records the id — so whichever step fails,
 * something that can finish the job is already on its way. A send that failed for a reason a retry
 * can fix (agent not addressable yet, throttling, a server fault) puts the gate back to waiting for
 * the agent; one SSM refused (permissions, document, parameters) abandons at once, saying why.
 */
async function sendBootstrap(deps: GateDeps, record: GateRecord, group: RuntimeGroup): Promise<void> {
  const claimed = advance(
    record,
    { phase: "sending-command" },
    "agent online; sending bootstrap",
    deps.now(),
  );
  await deps.store.save(claimed);
  let commandId: string;
  try {
    commandId = await sendBootstrapCommand(deps, {
      documentName: group.documentName,
      instanceId: record.instanceId,
      bootstrapPhase: record.mode.bootstrapPhase,
      trigger: "launch",
      comment: commandComment(record.token),
    });
  } catch (error) {
    const failure = classifySendError(error);
    if (failure === "refused") {
      const reason = bootstrapNotSent(group.documentName, awsErrorName(error), errorMessage(error));
      await abandonLaunch(deps, claimed, reason);
      return;
    }
    const why =
      failure === "agent-not-addressable"
        ? "agent not yet addressable (InvalidInstanceId)"
        : `transient: ${awsErrorName(error) || "Error"}: ${errorMessage(error)}`;
    deps.log.warn("bootstrap send failed; will retry", { error: why });
    const back = advance(claimed, { phase: "awaiting-agent" }, `send failed: ${why}`, deps.now());
    await scheduleRecheck(deps, back, "agent", AGENT_PACE_SECONDS, group);
    await deps.store.save(back);
    return;
  }
  // The fallback for a lost status event (SSM delivers them best-effort, AWS-FACTS §3), and the
  // heartbeat while the command runs.
  await scheduleRecheck(deps, claimed, "command", COMMAND_PACE_SECONDS, group, commandId);
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
