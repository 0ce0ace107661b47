import type { RuntimeGroup } from "../config/runtime-config.js";
import type { RecheckEvent } from "../events/gate-event.js";
import { type GateDeps, groupConfig } from "./deps.js";
import { scheduleRecheck, scheduleSeen, scheduleWatchedRecheck } from "./keep-alive.js";
import type { WaitSeen } from "./ports.js";
import type { GatePhase, GateRecord } from "./record.js";
import { joinAgentWatch, joinHealthWatch, waitPolling } from "./watch/join-watch.js";

/**
 * How the polling steps (agent, health) come round again: with their group's watch (watch/) when it
 * can be joined — the watch looks every few seconds, and the wait's own chain comes round at the safety
 * net's pace — or at their own pace, when it cannot. A watched wait's round is an ordinary round: it
 * reads the record (a round that comes after the watch moved the wait on costs that read and stops),
 * polls, acts, and joins again. It polls even though the watch also does: a watch can be held without
 * running (its invocations crashing), and only a round's own look bounds what that costs a wait.
 */

type PolledStep = "agent" | "health";

function join(deps: GateDeps, step: PolledStep, record: GateRecord): Promise<boolean> {
  return step === "agent"
    ? joinAgentWatch(deps, waitPolling(record))
    : joinHealthWatch(deps, waitPolling(record), record.registered);
}

/**
 * A round of the wait's own chain that lost a save (StaleRecordError) ends, taking it that the newer
 * writer carries the wait on — except when that writer was a step its group's watch ran (the record
 * says so: GateRecord.savedBy), which keeps its own next round back, counting on this one: then, the
 * wait still in a phase of this step, it schedules its next round from the record as stored (at the
 * watched pace, or by the phase's deadline) before it ends. Costs a read, on a lost save only. Should
 * the watch's step fail after its save, its retry goes out too (watch-steps.ts): two rounds until the
 * next save race, as before.
 */
export async function carryOnAfterWatchSave(
  deps: GateDeps,
  event: RecheckEvent,
  step: PolledStep,
  phases: readonly GatePhase[],
): Promise<void> {
  if (deps.keeper === "watch") return; // a step the watch runs has no round of its own to carry on
  const stored = await deps.store.load(event.instanceId);
  if (stored?.token !== event.token || stored.savedBy !== "watch" || !phases.includes(stored.phase)) return;
  deps.log.info("lost a save to a step the watch ran; the wait's own round carries on", {
    phase: stored.phase,
    version: stored.version,
  });
  // As nextRound's watched round: the safety net's pace, sooner when the phase's deadline is.
  await scheduleWatchedRecheck(deps, waitPolling(stored), step, groupConfig(deps.config, stored.groupName));
}

/** The wait's next round after one that found nothing new (`record` as saved, or about to be). */
export async function nextRound(
  deps: GateDeps,
  step: PolledStep,
  record: GateRecord,
  group: RuntimeGroup,
  ownPaceSeconds: number,
): Promise<void> {
  if (await join(deps, step, record)) return scheduleWatchedRecheck(deps, waitPolling(record), step, group);
  await scheduleRecheck(deps, record, step, ownPaceSeconds, group);
}

/**
 * The next round of one that went by what its re-check carries (seen.ts), without the record: the
 * watch's, if it can be joined now, or the wait's own, as seen.
 */
export async function nextSeenRound(
  deps: GateDeps,
  event: RecheckEvent,
  seen: WaitSeen,
  group: RuntimeGroup,
  ownPaceSeconds: number,
): Promise<void> {
  const wait = {
    instanceId: event.instanceId,
    token: event.token,
    groupName: seen.groupName,
    startedAt: seen.startedAt,
    dueBy: seen.readBy,
    version: seen.version,
  };
  const joined =
    event.step === "agent"
      ? await joinAgentWatch(deps, { ...wait, mode: { bootstrapPhase: seen.bootstrapPhase } })
      : await joinHealthWatch(
          deps,
          { ...wait, ...(seen.registeredAt === undefined ? {} : { registeredAt: seen.registeredAt }) },
          seen.targets ?? [],
        );
  if (joined && (event.step === "agent" || event.step === "health")) {
    return scheduleWatchedRecheck(deps, wait, event.step, group);
  }
  await scheduleSeen(deps, event, seen, ownPaceSeconds, group);
}
