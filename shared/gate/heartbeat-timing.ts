import type { GateRecord } from "./record.js";

/**
 * When a held hook is heartbeated, and how often a wait's chain shows it is alive.
 *
 * Two keepers can heartbeat a hook: the wait's own chain (its steps come at most a re-check ceiling
 * apart) and the reconciler (every RECONCILE_INTERVAL_SECONDS). Each must be able to keep the hook
 * alive on its own, with room for a throttled call, and neither should heartbeat sooner than that
 * needs: a launch that is through in a few minutes should not heartbeat at all. Proving the chain is
 * alive (`chainSeenAt`, what the reconciler's stall check reads) is a separate, cheaper matter: a
 * write to the wait's record, which most steps make anyway.
 */

/**
 * How often the reconciler runs. The stack schedules it at this rate (infra/constructs/launch-gate.ts);
 * the heartbeat timing below counts on it.
 */
export const RECONCILE_INTERVAL_SECONDS = 120;

/** Room left before a hook's timeout for a keeper's heartbeat that was throttled and retried. */
const HEARTBEAT_SLACK_SECONDS = 60;

/**
 * Re-checks are spaced at most a third of the heartbeat timeout apart, and the chain shows it is alive
 * at least that often: a late or lost re-check still leaves time for the next one before the hook times
 * out (and applies its default result, ABANDON).
 */
export function recheckCeilingSeconds(heartbeatTimeoutSeconds: number): number {
  return Math.floor(heartbeatTimeoutSeconds / 3);
}

/**
 * How old the hook's last heartbeat is when the next is recorded (by whichever keeper comes first):
 * - at most half the timeout: the chain's first step after it comes within a ceiling (a third), which
 *   leaves a sixth of the timeout (at least 60 s) should the chain be the only keeper left;
 * - at most the timeout less two reconciler runs and slack: a reconciler left alone (the chain died)
 *   may miss one run and still heartbeat in time;
 * - never sooner than the ceiling (it was always that; at the 360 s minimum timeout it is what the
 *   rule above allows).
 * At the default 600 s timeout: 300 s — a launch through its gate in five minutes records none.
 */
export function heartbeatAgeSeconds(heartbeatTimeoutSeconds: number): number {
  const reconcilerBound = heartbeatTimeoutSeconds - 2 * RECONCILE_INTERVAL_SECONDS - HEARTBEAT_SLACK_SECONDS;
  return Math.max(
    recheckCeilingSeconds(heartbeatTimeoutSeconds),
    Math.min(Math.floor(heartbeatTimeoutSeconds / 2), reconcilerBound),
  );
}

/** When the hook's next heartbeat is due (epoch ms), whoever recorded the last. */
export function hookHeartbeatDueAt(
  record: Pick<GateRecord, "lastHeartbeatAt">,
  heartbeatTimeoutSeconds: number,
): number {
  return record.lastHeartbeatAt + heartbeatAgeSeconds(heartbeatTimeoutSeconds) * 1000;
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
