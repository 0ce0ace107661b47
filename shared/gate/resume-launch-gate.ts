import type { RuntimeGroup } from "../config/runtime-config.js";
import type { GateDeps } from "./deps.js";
import { scheduleRecheck } from "./keep-alive.js";
import { CHAIN_STEP_FOR_PHASE } from "./ports.js";
import { adopt, sight } from "./sighting.js";

/**
 * An operator asked to re-bootstrap an instance that is waiting at its launch hook: resume its launch
 * gate instead — re-kick a live chain, or open the gate now for a wait no event told us about.
 */
export async function resumeLaunchGate(
  deps: GateDeps,
  group: RuntimeGroup,
  instanceId: string,
  state: string,
): Promise<string> {
  const record = await deps.store.load(instanceId);
  const step = record ? CHAIN_STEP_FOR_PHASE[record.phase] : undefined;
  if (record && step) {
    await scheduleRecheck(deps, record, step, 0, group, record.commandId);
    return `launch gate re-kicked (it was ${record.phase})`;
  }
  const note = "opened on an operator's re-bootstrap request: no lifecycle event had arrived";
  if (record?.phase === "sighted") {
    await adopt(deps, group, record, note);
  } else {
    await sight(deps, group, instanceId, state, { seen: record });
    const sighted = await deps.store.load(instanceId);
    if (sighted?.phase === "sighted") await adopt(deps, group, sighted, note);
  }
  return "launch gate started for a wait no lifecycle event announced";
}
