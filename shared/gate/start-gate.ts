import type { RuntimeGroup } from "../config/runtime-config.js";
import { errorMessage, SkipEventError } from "../errors.js";
import type { LaunchEvent, RecheckEvent } from "../events/gate-event.js";
import { loadActiveWait } from "./active-wait.js";
import { agentPingStatus, isInvalidInstanceId, sendBootstrapCommand } from "./bootstrap-command.js";
import { type GateDeps, groupConfig } from "./deps.js";
import { abandonLaunch } from "./finish.js";
import { keepAlive, scheduleRecheck } from "./keep-alive.js";
import { launchModeFor } from "./launch-mode.js";
import { describeLifecycle, isWaitingAtHook } from "./lifecycle-actions.js";
import { agentNeverOnline } from "./reasons.js";
import { advance, type GateRecord } from "./record.js";

/** How often to look for the SSM agent: new agents register within seconds to a few minutes. */
export const AGENT_PACE_SECONDS = 15;
/** How often to look at a running bootstrap when its status event has not arrived (the fallback). */
export const COMMAND_PACE_SECONDS = 60;
/** Beyond the document's own execution timeout, time for SSM to report the outcome. */
const COMMAND_REPORT_SLACK_SECONDS = 120;

/** A launch lifecycle action arrived: open the gate record for this wait and look for the agent. */
export async function startGate(deps: GateDeps, event: LaunchEvent): Promise<void> {
  const group = groupConfig(deps.config, event.groupName);
  if (event.hookName !== group.hookName) {
    throw new SkipEventError("hook is not launchgate's", {
      hookName: event.hookName,
      expected: group.hookName,
    });
  }
  const lifecycle = await describeLifecycle(deps, event.instanceId);
  if (!isWaitingAtHook(lifecycle)) {
    throw new SkipEventError("instance is not waiting at the hook", {
      lifecycleState: lifecycle?.state ?? "absent",
    });
  }
  const now = deps.now();
  const mode = launchModeFor(event.origin, event.destination);
  const record: GateRecord = {
    instanceId: event.instanceId,
    groupName: event.groupName,
    hookName: event.hookName,
    token: event.token,
    mode,
    phase: "awaiting-agent",
    startedAt: now,
    deadline: now + group.gateTimeoutSeconds * 1000,
    // The hook's heartbeat period started at launch, a little before this event: counting from now is
    // conservative only because heartbeats are due at a third of the period (keep-alive.ts).
    lastHeartbeatAt: now,
    phaseDeadline: now + group.agentTimeoutSeconds * 1000,
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
  // Fails with StaleRecordError (a skip) when this wait already has a record: a duplicate event.
  await deps.store.save(record);
  deps.log.info("launch gate opened", { mode, zone: lifecycle?.availabilityZone });
  await checkAgent(deps, record, group);
}

/** A delayed agent re-check arrived. */
export async function onAgentRecheck(deps: GateDeps, event: RecheckEvent): Promise<void> {
  const { record, group } = await loadActiveWait(deps, event.instanceId, event.token, ["awaiting-agent"]);
  await checkAgent(deps, record, group);
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
 * Claims the send (so a duplicate event cannot send twice), sends, then records the command id. A send
 * that fails puts the gate back to waiting for the agent, so the re-check chain, not an event retry
 * (which would now be a duplicate), carries on.
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
      token: record.token,
    });
  } catch (error) {
    const why = isInvalidInstanceId(error)
      ? "agent not yet addressable (InvalidInstanceId)"
      : errorMessage(error);
    deps.log.warn("bootstrap send failed; will retry", { error: why });
    const back = advance(claimed, { phase: "awaiting-agent" }, `send failed: ${why}`, deps.now());
    await deps.store.save(back);
    await scheduleRecheck(deps, back, "agent", AGENT_PACE_SECONDS, group);
    return;
  }
  const now = deps.now();
  const sent = advance(
    claimed,
    {
      phase: "bootstrapping",
      commandId,
      phaseDeadline: now + (group.bootstrapTimeoutSeconds + COMMAND_REPORT_SLACK_SECONDS) * 1000,
    },
    `bootstrap command ${commandId} sent (phase ${record.mode.bootstrapPhase})`,
    now,
  );
  await deps.store.save(sent);
  deps.log.info("bootstrap command sent", { commandId, bootstrapPhase: record.mode.bootstrapPhase });
  // The fallback for a lost status event (SSM delivers them best-effort, AWS-FACTS §3), and the
  // heartbeat while the command runs.
  await scheduleRecheck(deps, sent, "command", COMMAND_PACE_SECONDS, group);
}
