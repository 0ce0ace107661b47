import type { RuntimeGroup } from "../config/runtime-config.js";
import type { RecheckEvent } from "../events/gate-event.js";
import type { GateDeps } from "./deps.js";
import { scheduleRecheck, scheduleSeen, scheduleWatchedRecheck } from "./keep-alive.js";
import type { WaitSeen } from "./ports.js";
import type { GateRecord } from "./record.js";
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
