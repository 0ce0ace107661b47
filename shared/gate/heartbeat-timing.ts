import type { GateRecord } from "./record.js";

/**
 * When a held hook is heartbeated, and how often a wait's chain shows it is alive.
 *
 * Two keepers can heartbeat a hook: the wait's own chain (its steps come at most a re-check ceiling
 * apart) and the reconciler (every RECONCILE_INTERVAL_SECONDS). Either heartbeats once the hook's last
 * heartbeat — whoever recorded it — is a ceiling (a third of the heartbeat timeout) old: the reconciler
 * alone, should the chain die, then heartbeats within a ceiling and a run, and can miss runs and still
 * be in time (at the default 600 s timeout: two). Proving the chain is alive (`chainSeenAt`, what the
 * reconciler's stall check reads) is a separate, cheaper matter: a write to the wait's record, which most
 * steps make anyway — not a second heartbeat just after the reconciler's.
 */

/**
 * How often the reconciler runs. The stack schedules it at this rate (infra/constructs/launch-gate.ts);
 * the heartbeat timing counts on it.
 */
export const RECONCILE_INTERVAL_SECONDS = 120;

/**
 * Re-checks are spaced at most a third of the heartbeat timeout apart, and the hook is heartbeated (and
 * the chain shows it is alive) at least that often: a late or lost re-check still leaves time for the
 * next one before the hook times out (and applies its default result, ABANDON).
 */
export function recheckCeilingSeconds(heartbeatTimeoutSeconds: number): number {
  return Math.floor(heartbeatTimeoutSeconds / 3);
}

/** When the hook's next heartbeat is due (epoch ms), whoever recorded the last. */
export function hookHeartbeatDueAt(
  record: Pick<GateRecord, "lastHeartbeatAt">,
  heartbeatTimeoutSeconds: number,
): number {
  return record.lastHeartbeatAt + recheckCeilingSeconds(heartbeatTimeoutSeconds) * 1000;
}

/**
 * When the chain must next show it is alive (epoch ms): a ceiling after it last did — or, before it
 * ever did, after its phase started. The reconciler's heartbeats do not count, or keeping the hook
 * alive would hide a dead chain.
 */
export function chainSignDueAt(
  record: Pick<GateRecord, "chainSeenAt" | "phaseStartedAt">,
  heartbeatTimeoutSeconds: number,
): number {
  return (
    (record.chainSeenAt ?? record.phaseStartedAt) + recheckCeilingSeconds(heartbeatTimeoutSeconds) * 1000
  );
}
