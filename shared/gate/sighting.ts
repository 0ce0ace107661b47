import type { RuntimeGroup } from "../config/runtime-config.js";
import { emitAll } from "../metrics/emit.js";
import { launchStartedMetrics } from "../metrics/launch-metrics.js";
import type { GateDeps } from "./deps.js";
import { RECONCILE_INTERVAL_SECONDS } from "./heartbeat-timing.js";
import { keepAlive, scheduleRecheck } from "./keep-alive.js";
import { sightedTransition } from "./launch-mode.js";
import { recordHeartbeat } from "./lifecycle-actions.js";
import { openRecord } from "./open-wait.js";
import type { WaitOutcome } from "./reconcile-wait.js";
import { advance, type GateRecord, TERMINAL_PHASES, tokenlessToken } from "./record.js";

/**
 * Waits the gate learned of without their lifecycle event (lost, or begun before launchgate was
 * deployed): the reconciler sights them first — a placeholder record and a heartbeat — and adopts them
 * on a later run if the event still has not arrived, whose real token would otherwise replace the
 * placeholder.
 */

/** How long a sighted wait is left to its lifecycle event before the reconciler adopts it. */
export const ADOPT_AFTER_SECONDS = 240;

/** What the reconciler based a sighting on: the instance's record as it read it. */
export interface SightBasis {
  /** The record read for the instance (undefined: it had none). */
  readonly seen: GateRecord | undefined;
}

/**
 * A wait with no live record: keep its hook alive and leave its lifecycle event a chance to arrive. The
 * placeholder is created only over exactly what the caller saw — no record, or a finished one — so a
 * record that appeared or moved on since (its event opened the gate meanwhile) is never overwritten:
 * the save fails with StaleRecordError, and the next run looks again. Without `basis` the record is
 * read here, at the last moment.
 */
export async function sight(
  deps: GateDeps,
  group: RuntimeGroup,
  instanceId: string,
  state: string,
  basis?: SightBasis,
): Promise<WaitOutcome> {
  const seen = basis ? basis.seen : await deps.store.load(instanceId);
  if (seen && !TERMINAL_PHASES.has(seen.phase)) {
    return { action: "in-progress", detail: `the gate already holds this wait (${seen.phase})` };
  }
  const now = deps.now();
  // Which wait this is (into the warm pool, out of it, or a direct launch) fixes what it runs, and which
  // lifecycle state a completion by instance id must find the instance in (tokenlessWaitEnded).
  const transition = sightedTransition(state, seen);
  const opened = openRecord(
    deps,
    {
      kind: "launch",
      instanceId,
      groupName: group.name,
      hookName: group.hookName,
      token: tokenlessToken(instanceId, now),
      ...transition,
    },
    group,
  );
  const sighted: GateRecord = {
    ...opened,
    phase: "sighted",
    history: [
      {
        at: now,
        phase: "sighted",
        note: `found in ${state} with no lifecycle event (taken as ${transition.origin} → ${transition.destination}: phase ${opened.mode.bootstrapPhase}); waiting ${ADOPT_AFTER_SECONDS} s for one`,
      },
    ],
  };
  if ((await recordHeartbeat(deps, sighted)) === "not-active")
    return { action: "in-progress", detail: "wait ended meanwhile" };
  await deps.store.save(sighted, seen ? { replacing: seen } : {});
  return { action: "sighted" };
}

/** A sighted wait: adopt it once its lifecycle event had time to arrive; until then, keep it alive. */
export async function adoptWhenDue(
  deps: GateDeps,
  group: RuntimeGroup,
  sighted: GateRecord,
): Promise<WaitOutcome> {
  if (deps.now() - sighted.startedAt < ADOPT_AFTER_SECONDS * 1000) {
    // Nothing else keeps a sighted wait alive: a heartbeat due before the next run is sent now, or a
    // run that fails or comes late (throttled) could cost the hook at the shortest heartbeat timeouts.
    await keepAlive(deps, sighted, group.heartbeatTimeoutSeconds, {
      by: "reconciler",
      aheadSeconds: RECONCILE_INTERVAL_SECONDS,
    });
    return { action: "in-progress", detail: "sighted; waiting for its lifecycle event" };
  }
  await adopt(deps, group, sighted, "adopted by the reconciler: no lifecycle event arrived");
  return { action: "adopted" };
}

/**
 * Opens the gate for a sighted wait; the gate's budget starts now. The hook was heartbeated at sighting
 * and kept alive since, but adoption comes ADOPT_AFTER_SECONDS later, on the reconciler's pace: with a
 * short heartbeat timeout the next heartbeat can be due now, and the wait's first round may not come
 * in time (a crash costs SQS's visibility timeout). It goes with the adoption's save.
 */
export async function adopt(
  deps: GateDeps,
  group: RuntimeGroup,
  sighted: GateRecord,
  note: string,
): Promise<void> {
  const now = deps.now();
  const kept = await keepAlive(deps, sighted, group.heartbeatTimeoutSeconds, { saveWithCaller: true });
  const adopted = advance(
    kept,
    {
      phase: "awaiting-agent",
      startedAt: now,
      deadline: now + group.gateTimeoutSeconds * 1000,
      phaseDeadline: now + group.agentTimeoutSeconds * 1000,
    },
    note,
    now,
  );
  await scheduleRecheck(deps, adopted, "agent", 0, group);
  await deps.store.save(adopted);
  emitAll(deps, launchStartedMetrics(group.name));
}
