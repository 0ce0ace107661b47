import { randomUUID } from "node:crypto";
import { errorMessage } from "../../errors.js";
import type { GateDeps } from "../deps.js";
import { firstAgentCheckSeconds } from "../gate-pacing.js";
import type { GateRecord, LaunchMode } from "../record.js";
import type { WatchKind, WatchMember, WatchTarget } from "./watch.js";

/**
 * How often a watched wait's own chain comes round: the safety net's pace. A round reads the record,
 * looks for itself, and renews the wait's membership (MEMBER_LEASE_SECONDS), restarting a watch that
 * died: whatever happens to the watch — even one held by invocations that keep crashing — a wait waits
 * at most about this much longer than it would have. It comes sooner when the wait is due sooner (its
 * phase deadline), and stays within the heartbeat's ceiling.
 */
export const WATCHED_PACE_SECONDS = 60;
/** How long a member is watched without a round of its own chain renewing it: two rounds, and slack. */
export const MEMBER_LEASE_SECONDS = 2 * WATCHED_PACE_SECONDS + 30;
/** How long a new watch has to start (its message delivered, its invocation taking the lease). */
export const WATCH_START_GRACE_SECONDS = 60;
/** The latest a new watch's first look is put off for a member that cannot be found yet. */
const MAX_START_DELAY_SECONDS = 15;

/** A wait polling for something, as its watch needs it. */
export interface PollingWait {
  readonly instanceId: string;
  readonly token: string;
  readonly groupName: string;
  readonly startedAt: number;
  /** Epoch ms by which the wait's own chain must look for itself (its phase deadline, a heartbeat due). */
  readonly dueBy: number;
  /** The version of its record this was taken from (saved, or about to be). */
  readonly version: number;
}

/** A wait's record as a polling wait, due to look for itself by its phase deadline. */
export function waitPolling(record: GateRecord): PollingWait & Pick<GateRecord, "mode" | "registeredAt"> {
  return {
    instanceId: record.instanceId,
    token: record.token,
    groupName: record.groupName,
    startedAt: record.startedAt,
    dueBy: record.phaseDeadline ?? record.deadline,
    version: record.version,
    mode: record.mode,
    ...(record.registeredAt === undefined ? {} : { registeredAt: record.registeredAt }),
  };
}

/** Joins the group's agent watch (see joinWatch): from when a look could find the agent Online. */
export function joinAgentWatch(
  deps: GateDeps,
  wait: PollingWait & { readonly mode: Pick<LaunchMode, "bootstrapPhase"> },
): Promise<boolean> {
  const from = wait.startedAt + firstAgentCheckSeconds(wait) * 1000;
  return joinWatch(deps, "agent", wait, { from });
}

/** Joins the group's health watch (see joinWatch): from the registration, in the wait's target groups. */
export function joinHealthWatch(
  deps: GateDeps,
  wait: PollingWait & { readonly registeredAt?: number },
  targets: readonly WatchTarget[],
): Promise<boolean> {
  const from = wait.registeredAt ?? wait.startedAt;
  const watched = targets.map(({ targetGroupArn, port, name }) => ({ targetGroupArn, port, name }));
  return joinWatch(deps, "health", wait, { from, targets: watched });
}

/**
 * Asks the group's watch to look out for this wait, starting the watch if none runs. True: a watch has
 * it, and the wait's own chain need only come round at the safety net's pace (scheduleWatchedRecheck);
 * false: it could not be joined (or this function has no watch wiring), and the wait polls at its own.
 */
async function joinWatch(
  deps: GateDeps,
  kind: WatchKind,
  wait: PollingWait,
  look: Pick<WatchMember, "from" | "targets">,
): Promise<boolean> {
  const wiring = deps.watch;
  if (!wiring) return false;
  const { groupName } = wait;
  const now = deps.now();
  const member: WatchMember = {
    instanceId: wait.instanceId,
    token: wait.token,
    ...look,
    until: now + MEMBER_LEASE_SECONDS * 1000,
  };
  try {
    const state = await wiring.store.join(kind, groupName, member);
    if (state.leaseUntil >= now) return true; // the store claims only a lease past `now`
    const lease = { chain: randomUUID(), hop: 0 };
    const delaySeconds = Math.min(
      MAX_START_DELAY_SECONDS,
      Math.max(0, Math.ceil((member.from - now) / 1000)),
    );
    const leaseUntil = now + (delaySeconds + WATCH_START_GRACE_SECONDS) * 1000;
    // Lost to another joiner: its watch looks for this member too.
    if (!(await wiring.store.claim(kind, groupName, lease, now, leaseUntil))) return true;
    try {
      await wiring.messages.send({ watch: kind, groupName, ...lease }, delaySeconds);
    } catch (error) {
      // Nobody would run the watch: let the next joiner start it rather than leave it held for a minute.
      await wiring.store.release(kind, groupName, lease, []).catch(() => undefined);
      throw error;
    }
    deps.log.info("started the group's watch", { watch: kind, groupName, chain: lease.chain, delaySeconds });
    return true;
  } catch (error) {
    deps.log.warn("could not join the group's watch; the wait polls for itself", {
      watch: kind,
      groupName,
      error: errorMessage(error),
    });
    return false;
  }
}
