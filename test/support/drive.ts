import type { LaunchEvent } from "../../shared/events/gate-event.js";
import { onAgentRecheck, startGate } from "../../shared/gate/start-gate.js";
import { launchEvent, recheck } from "./events.js";
import type { GateHarness } from "./gate-harness.js";

/** Delivers a launch event, then the agent re-check it schedules (as SQS would, at once). */
export async function openGate(h: GateHarness, event: LaunchEvent = launchEvent()): Promise<void> {
  await startGate(h.deps, event);
  await onAgentRecheck(h.deps, recheck("agent", event.token));
}
