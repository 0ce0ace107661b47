import type { RuntimeGroup } from "../config/runtime-config.js";
import { SkipEventError } from "../errors.js";
import { throttledPaceSeconds } from "./batch-reads.js";
import type { GateDeps } from "./deps.js";
import { recordGone } from "./finish.js";
import { chainSignDueAt, hookHeartbeatDueAt, recheckCeilingSeconds } from "./heartbeat-timing.js";
import { describeLifecycle, recordHeartbeat } from "./lifecycle-actions.js";
import type { RecheckMessage, RecheckStep, WaitSeen } from "./ports.js";
import { advance, type GateRecord } from "./record.js";
import { seenOf } from "./seen.js";
import { WATCHED_PACE_SECONDS } from "./watch/join-watch.js";

/**
 * Who is keeping the wait alive (heartbeat-timing.ts): the wait's own chain, its group's watch running a
 * step for it (watch/watch-steps.ts), or the reconciler. Each heartbeats the hook when it is due; only
 * the chain's own steps prove the chain is alive (`chainSeenAt`): the reconciler must still be able to
 * see a chain that died while others kept the hook alive.
 */
export type HeartbeatSource = "chain" | "watch" | "reconciler";

export interface KeepAliveOptions {
  /** Defaults to `deps.keeper`, and to the chain: the reconciler and the watch say otherwise. */
  readonly by?: HeartbeatSource;
  /**
   * The caller saves the returned record itself, at once (its next write advances it): the heartbeat
   * (or the chain's sign of life) is recorded with that write instead of one of its own. The returned
   * record then keeps the version it was read at, so the caller's save stays conditional on exactly
   * what was read. Should that save fail, a heartbeat was still sent; only its record is lost, and the
   * next step heartbeats again.
   */
  readonly saveWithCaller?: boolean;
  /**
   * Heartbeat now if the heartbeat comes due within this long: for a keeper that comes back only that
   * often and is the wait's only one (the reconciler, for a wait it sighted), so that a run that comes
   * just before the heartbeat is due does not leave it to the run after.
   */
  readonly aheadSeconds?: number;
}

/** What keeping the wait alive calls for now: a heartbeat of the hook, a sign of the chain's life, both. */
export function keepAliveDue(
  record: Pick<GateRecord, "lastHeartbeatAt" | "chainSeenAt" | "phaseStartedAt">,
  now: number,
  heartbeatTimeoutSeconds: number,
  by: HeartbeatSource,
  aheadSeconds = 0,
): { readonly heartbeat: boolean; readonly chainSign: boolean } {
  return {
    heartbeat: now + aheadSeconds * 1000 >= hookHeartbeatDueAt(record, heartbeatTimeoutSeconds),
    chainSign: by === "chain" && now >= chainSignDueAt(record, heartbeatTimeoutSeconds),
  };
}

/**
 * Records a heartbeat when one is due, and the chain's sign of life when that is; returns the (possibly
 * saved) newer record — or, with `saveWithCaller`, the record with them applied and not yet saved.
 */
export async function keepAlive(
  deps: GateDeps,
  record: GateRecord,
  heartbeatTimeoutSeconds: number,
  options: KeepAliveOptions = {},
): Promise<GateRecord> {
  const by = options.by ?? deps.keeper ?? "chain";
  const now = deps.now();
  const due = keepAliveDue(record, now, heartbeatTimeoutSeconds, by, options.aheadSeconds);
  if (!due.heartbeat && !due.chainSign) return record;
  if (due.heartbeat && (await recordHeartbeat(deps, record)) === "not-active")
    await stopRefusedWait(deps, record);
  const changes = {
    ...(due.heartbeat ? { lastHeartbeatAt: now } : {}),
    ...(by === "chain" ? { chainSeenAt: now } : {}),
  };
  if (options.saveWithCaller) return { ...record, ...changes };
  if (by !== "chain") {
    // A note, not a new version: a step of the chain that read the record before it must not lose its
    // save to it (a step that loses a save ends its chain, taking it that the newer writer carries on).
    const noted = { ...record, ...changes };
    if (!(await deps.store.noteHeartbeat(record, now)))
      deps.log.info("heartbeat sent; the record changed meanwhile, so it is not noted there");
    return noted;
  }
  const updated = advance(record, changes, "", now);
  await deps.store.save(updated);
  return updated;
}

/**
 * The hook refused a heartbeat: the wait ended. If another invocation already moved the record on (it
 * most likely completed the wait), it owns the record's story: stop quietly. Otherwise the wait ended
 * without us (timed out, or completed by someone else): say so in the record, rather than leave it
 * showing a live phase nobody drives any more.
 */
async function stopRefusedWait(deps: GateDeps, record: GateRecord): Promise<never> {
  const stored = await deps.store.load(record.instanceId);
  if (!stored || stored.version !== record.version || stored.token !== record.token) {
    const phase = stored?.phase ?? "deleted";
    throw new SkipEventError(
      `hook no longer waiting; another invocation already moved the record to ${phase}`,
      {
        phase,
      },
    );
  }
  await recordGone(deps, record, await describeLifecycle(deps, record.instanceId));
  throw new SkipEventError("hook no longer waiting; heartbeat refused", { phase: record.phase });
}

/** Delay before the next re-check: the step's natural pace, never past the heartbeat ceiling. */
export function recheckDelay(paceSeconds: number, heartbeatTimeoutSeconds: number): number {
  return Math.max(1, Math.min(paceSeconds, recheckCeilingSeconds(heartbeatTimeoutSeconds)));
}

/**
 * A poll was throttled (isPollThrottled): the step learned nothing, which is "not yet", not a failure.
 * Keeps the hook alive and looks again at the stretched pace (throttledPaceSeconds): fewer rounds while
 * the API is saturated, instead of a failed step retried at once with all its reads.
 */
export async function lookAgainAfterThrottle(
  deps: GateDeps,
  record: GateRecord,
  step: RecheckStep,
  paceSeconds: number,
  group: RuntimeGroup,
  commandId?: string,
): Promise<void> {
  const stretched = throttledPaceSeconds(paceSeconds);
  deps.log.info("poll throttled; looking again later", { step, paceSeconds: stretched });
  const kept = await keepAlive(deps, record, group.heartbeatTimeoutSeconds);
  await scheduleRecheck(deps, kept, step, stretched, group, commandId);
}

/** The steps that poll: their re-checks are timed to a shared grid (see gridDelaySeconds). */
const POLLING_STEPS: ReadonlySet<RecheckStep> = new Set(["agent", "health"]);

/**
 * Asks for this wait's next re-check of `step`, paced by the step and bounded by the heartbeat. A
 * polling step's re-check is put on the grid of its pace, so the polls of a burst's waits come due
 * together and share their reads (batch-reads.ts).
 */
export async function scheduleRecheck(
  deps: GateDeps,
  record: GateRecord,
  step: RecheckStep,
  paceSeconds: number,
  group: RuntimeGroup,
  commandId?: string,
): Promise<void> {
  const seen = POLLING_STEPS.has(step) ? seenOf(record, group) : undefined;
  const message: RecheckMessage = {
    step,
    instanceId: record.instanceId,
    token: record.token,
    forVersion: record.version,
    ...(commandId ? { commandId } : {}),
    ...(seen && seen.phase === POLLED_PHASE[step] ? { seen } : {}),
  };
  await scheduleMessage(deps, message, paceSeconds, group);
}

/**
 * The next round of a wait its group's watch has (watch/join-watch.ts): the safety net's pace, sooner
 * when the wait is due to look for itself (`dueBy`), never past the heartbeat's ceiling. It carries no
 * `seen`: it reads the record, so a round that comes after the watch moved the wait on costs a read,
 * not a poll.
 */
export async function scheduleWatchedRecheck(
  deps: GateDeps,
  wait: {
    readonly instanceId: string;
    readonly token: string;
    readonly dueBy: number;
    readonly version: number;
  },
  step: "agent" | "health",
  group: RuntimeGroup,
): Promise<void> {
  const dueIn = Math.ceil((wait.dueBy - deps.now()) / 1000);
  const delay = recheckDelay(
    Math.min(WATCHED_PACE_SECONDS, Math.max(1, dueIn)),
    group.heartbeatTimeoutSeconds,
  );
  const { instanceId, token, version } = wait;
  await deps.rechecks.schedule({ step, instanceId, token, forVersion: version }, delay);
}

const POLLED_PHASE: Partial<Record<RecheckStep, WaitSeen["phase"]>> = {
  agent: "awaiting-agent",
  health: "awaiting-health",
};

/**
 * The next round of a polling re-check that found nothing new, going by what it carries (seen.ts):
 * the same wait, as seen, at `paceSeconds` on the grid.
 */
export async function scheduleSeen(
  deps: GateDeps,
  message: RecheckMessage,
  seen: WaitSeen,
  paceSeconds: number,
  group: RuntimeGroup,
): Promise<void> {
  const { step, instanceId, token } = message;
  await scheduleMessage(deps, { step, instanceId, token, seen }, paceSeconds, group);
}

async function scheduleMessage(
  deps: GateDeps,
  message: RecheckMessage,
  paceSeconds: number,
  group: RuntimeGroup,
): Promise<void> {
  const delay = paceSeconds === 0 ? 0 : recheckDelay(paceSeconds, group.heartbeatTimeoutSeconds);
  await deps.rechecks.schedule(
    message,
    delay > 0 && POLLING_STEPS.has(message.step)
      ? gridDelaySeconds(deps.now(), delay, recheckCeilingSeconds(group.heartbeatTimeoutSeconds))
      : delay,
  );
}

/**
 * The delay (whole seconds, as SQS takes it) to the grid point of `paceSeconds` nearest to one pace from
 * now: between half and one and a half paces, a pace on average, and always on a multiple of the pace
 * in epoch time — the same instants for every wait polling at that pace. Never beyond `capSeconds` (the
 * heartbeat's ceiling): then the latest grid point within it, or the cap itself.
 */
export function gridDelaySeconds(
  nowMs: number,
  paceSeconds: number,
  capSeconds = Number.POSITIVE_INFINITY,
): number {
  const now = nowMs / 1000;
  const due = Math.ceil((now + paceSeconds / 2) / paceSeconds) * paceSeconds;
  if (due - now <= capSeconds) return Math.ceil(due - now);
  const latest = Math.floor((now + capSeconds) / paceSeconds) * paceSeconds;
  return latest > now ? Math.max(1, Math.floor(latest - now)) : Math.max(1, Math.floor(capSeconds));
}
