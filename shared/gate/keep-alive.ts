import type { RuntimeGroup } from "../config/runtime-config.js";
import { SkipEventError } from "../errors.js";
import type { GateDeps } from "./deps.js";
import { recordGone } from "./finish.js";
import { describeLifecycle, recordHeartbeat } from "./lifecycle-actions.js";
import type { RecheckStep } from "./ports.js";
import { advance, type GateRecord } from "./record.js";

/**
 * Re-checks are spaced at most a third of the heartbeat timeout apart, and a heartbeat is recorded once
 * a third has passed: a late or lost re-check still leaves time for the next one before the hook times
 * out (and applies its default result, ABANDON).
 */
export function recheckCeilingSeconds(heartbeatTimeoutSeconds: number): number {
  return Math.floor(heartbeatTimeoutSeconds / 3);
}

/** Records a heartbeat when one is due; returns the (possibly saved) newer record. */
export async function keepAlive(
  deps: GateDeps,
  record: GateRecord,
  heartbeatTimeoutSeconds: number,
): Promise<GateRecord> {
  const now = deps.now();
  if (now - record.lastHeartbeatAt < recheckCeilingSeconds(heartbeatTimeoutSeconds) * 1000) return record;
  if ((await recordHeartbeat(deps, record)) === "not-active") {
    // The wait ended without us (timed out, or completed by someone else): say so in the record,
    // rather than leave it showing a live phase nobody drives any more.
    await recordGone(deps, record, await describeLifecycle(deps, record.instanceId));
    throw new SkipEventError("hook no longer waiting; heartbeat refused", { phase: record.phase });
  }
  const updated = advance(record, { lastHeartbeatAt: now }, "", now);
  await deps.store.save(updated);
  return updated;
}

/** Delay before the next re-check: the step's natural pace, never past the heartbeat ceiling. */
export function recheckDelay(paceSeconds: number, heartbeatTimeoutSeconds: number): number {
  return Math.max(1, Math.min(paceSeconds, recheckCeilingSeconds(heartbeatTimeoutSeconds)));
}

/** Asks for this wait's next re-check of `step`, paced by the step and bounded by the heartbeat. */
export async function scheduleRecheck(
  deps: GateDeps,
  record: GateRecord,
  step: RecheckStep,
  paceSeconds: number,
  group: RuntimeGroup,
  commandId?: string,
): Promise<void> {
  await deps.rechecks.schedule(
    { step, instanceId: record.instanceId, token: record.token, ...(commandId ? { commandId } : {}) },
    paceSeconds === 0 ? 0 : recheckDelay(paceSeconds, group.heartbeatTimeoutSeconds),
  );
}
