import type { RuntimeGroup } from "../config/runtime-config.js";
import { NotYetError, SkipEventError } from "../errors.js";
import { type GateDeps, groupConfig } from "./deps.js";
import { abandonLaunch, resumeCompletion } from "./finish.js";
import { describeLifecycle, isWaitingAtHook } from "./lifecycle-actions.js";
import type { RecheckMessage } from "./ports.js";
import { gateDeadlinePassed } from "./reasons.js";
import { type GatePhase, type GateRecord, TERMINAL_PHASES } from "./record.js";

/**
 * What a step does with a wait found past its overall deadline; returns the outcome it completed
 * with. The default abandons; the health step looks at health first (see health-gate's
 * finishPastDeadline), so an instance that is serving by then is not thrown away.
 */
export type PastDeadline = (
  deps: GateDeps,
  record: GateRecord,
  group: RuntimeGroup,
) => Promise<"CONTINUE" | "ABANDON">;

/** Past the deadline, every phase but the health gate has nothing left to look at: abandon. */
export const abandonPastDeadline: PastDeadline = async (deps, record, group) => {
  await abandonLaunch(deps, record, gateDeadlinePassed(group.gateTimeoutSeconds, record.phase));
  return "ABANDON";
};

/**
 * How long a claimed outcome belongs to the invocation that claimed it: longer than a gate function's
 * 30 s timeout, so past it the claimer has certainly finished or died. The reconciler honours it too.
 */
export const COMPLETION_LEASE_SECONDS = 60;

/** The claim changed the phase, so phaseStartedAt is when the outcome was claimed. */
export function claimLeasePassed(record: Pick<GateRecord, "phaseStartedAt">, now: number): boolean {
  return now - record.phaseStartedAt >= COMPLETION_LEASE_SECONDS * 1000;
}

/**
 * How many times a re-check that came before the save it was scheduled for is tried again (5, 10 and
 * 20 s later: run-event.ts): 35 s, past the 30 s a gate function's save can take at most (its timeout).
 * A re-check whose save never comes (its sender died after scheduling it) is late by as much.
 */
export const EARLY_RECHECK_RETRIES = 3;

/**
 * A round is scheduled before the save it is for (so that a crash after the save never strands the
 * wait): under throttling the save can take longer than the round's delay. A re-check scheduled for a
 * newer version of its wait than the store holds came ahead of that save: "not yet", rather than
 * "stale" — dropping it would leave the wait with no round once the save lands. Past a few tries the
 * save is taken to have failed, and the re-check goes by what the store holds.
 */
function aheadOfItsSave(
  record: GateRecord,
  recheck: Pick<RecheckMessage, "attempt" | "forVersion" | "seen"> | undefined,
): boolean {
  const scheduledFor = recheck?.forVersion ?? recheck?.seen?.version;
  return (
    scheduledFor !== undefined &&
    record.version < scheduledFor &&
    (recheck?.attempt ?? 0) < EARLY_RECHECK_RETRIES
  );
}

export interface ActiveWait {
  readonly record: GateRecord;
  readonly group: RuntimeGroup;
}

/**
 * The prologue of every step after the first: load the record and make sure this wait is still live,
 * still ours, in the phase the step expects, and within its overall deadline. Every "no" ends in a
 * SkipEventError (acknowledged, never retried), after doing whatever that "no" requires: ending the
 * wait past the deadline (with `pastDeadline`).
 *
 * It does not ask Auto Scaling whether the instance is still waiting: that would be one
 * DescribeAutoScalingInstances per step, most of a launch's control-plane calls. A wait that ended
 * without us shows itself anyway, within a heartbeat period: the hook refuses our next heartbeat or
 * completion (keep-alive.ts, finish.ts), and the reconciler sees the instance's state. The steps that
 * would act on the instance for the first time look first (sendBootstrap).
 */
export async function loadActiveWait(
  deps: GateDeps,
  instanceId: string,
  token: string | undefined,
  expected: readonly GatePhase[],
  pastDeadline: PastDeadline = abandonPastDeadline,
  /** The re-check this step runs for, if it is one. */
  recheck?: Pick<RecheckMessage, "attempt" | "forVersion" | "seen">,
): Promise<ActiveWait> {
  const record = await deps.store.load(instanceId);
  if (!record) throw new SkipEventError("no gate record for this instance");
  if (token !== undefined && record.token !== token) {
    throw new SkipEventError("re-check belongs to an earlier wait", { current: record.token });
  }
  if (aheadOfItsSave(record, recheck)) {
    throw new NotYetError("re-check came before the save that scheduled it; looking again shortly", {
      stored: record.version,
      scheduledFor: recheck?.forVersion ?? recheck?.seen?.version,
    });
  }
  // A retry of one that failed (its `attempt` set): maybe in the middle of finishing.
  const retried = recheck?.attempt !== undefined;
  if (TERMINAL_PHASES.has(record.phase)) {
    if (record.phase !== "gone" && retried) {
      // The completion may have died after its claim (a throttled CompleteLifecycleAction): deliver it
      // if the hook still waits. Only a retry does, following its own failed attempt. Any other
      // re-check (a command fallback arriving after the gate finished, a copy) stops here without a
      // call: racing the claimer is wrong within its lease, and past it the reconciler resumes a
      // completion that died (reconcile-wait.ts) on its rounds, well within the heartbeat.
      if (isWaitingAtHook(await describeLifecycle(deps, instanceId))) await resumeCompletion(deps, record);
    }
    throw new SkipEventError("gate already finished for this wait", { phase: record.phase });
  }
  if (!expected.includes(record.phase)) {
    throw new SkipEventError("gate is in another phase; this step is stale", {
      phase: record.phase,
      expected,
    });
  }
  const group = groupConfig(deps.config, record.groupName);
  if (deps.now() > record.deadline) {
    const outcome = await pastDeadline(deps, record, group);
    throw new SkipEventError(`gate deadline passed; ${outcome === "CONTINUE" ? "continued" : "abandoned"}`);
  }
  return { record, group };
}
