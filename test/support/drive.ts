import type { LaunchEvent } from "../../shared/events/gate-event.js";
import { onAgentRecheck, startGate } from "../../shared/gate/start-gate.js";
import { agentPing, hookAcceptsCompletion, lifecycleState } from "./aws-stubs.js";
import { launchEvent, recheck } from "./events.js";
import { type GateHarness, gateHarness } from "./gate-harness.js";

/** Delivers a launch event, then the agent re-check it schedules (as SQS would, at once). */
export async function openGate(h: GateHarness, event: LaunchEvent = launchEvent()): Promise<void> {
  await startGate(h.deps, event);
  await onAgentRecheck(h.deps, recheck("agent", event.token));
}

/**
 * A harness whose test instance waits at the hook with its gate opened (record saved, agent not
 * Online yet) and whose hook accepts heartbeats and completions: the start of most gate tests.
 */
export async function waitingGate(): Promise<GateHarness> {
  const h = gateHarness();
  lifecycleState(h, "Pending:Wait");
  hookAcceptsCompletion(h);
  agentPing(h, undefined);
  await startGate(h.deps, launchEvent());
  return h;
}
