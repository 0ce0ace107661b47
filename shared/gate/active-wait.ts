import type { RuntimeGroup } from "../config/runtime-config.js";
import { SkipEventError } from "../errors.js";
import { type GateDeps, groupConfig } from "./deps.js";
import { abandonLaunch, recordGone, resumeCompletion } from "./finish.js";
import { describeLifecycle, type InstanceLifecycle, isWaitingAtHook } from "./lifecycle-actions.js";
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

export interface ActiveWait {
  readonly record: GateRecord;
  readonly lifecycle: InstanceLifecycle;
  readonly group: RuntimeGroup;
}

/**
 * The prologue of every step after the first: load the record and make sure this wait is still live,
 * still ours, in the phase the step expects, and within its overall deadline. Every "no" ends in a
 * SkipEventError (acknowledged, never retried), after doing whatever that "no" requires: stopping
 * quietly for an instance that left, finishing an interrupted completion, ending the wait past the
 * deadline (with `pastDeadline`).
 */
export async function loadActiveWait(
  deps: GateDeps,
  instanceId: string,
  token: string | undefined,
  expected: readonly GatePhase[],
  pastDeadline: PastDeadline = abandonPastDeadline,
): Promise<ActiveWait> {
  const record = await deps.store.load(instanceId);
  if (!record) throw new SkipEventError("no gate record for this instance");
  if (token !== undefined && record.token !== token) {
    throw new SkipEventError("re-check belongs to an earlier wait", { current: record.token });
  }
  const lifecycle = await describeLifecycle(deps, instanceId);
  if (TERMINAL_PHASES.has(record.phase)) {
    if (record.phase !== "gone" && isWaitingAtHook(lifecycle)) await resumeCompletion(deps, record);
    throw new SkipEventError("gate already finished for this wait", { phase: record.phase });
  }
  if (!lifecycle || !isWaitingAtHook(lifecycle)) {
    await recordGone(deps, record, lifecycle);
    throw new SkipEventError("instance left the wait", { lifecycleState: lifecycle?.state });
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
  return { record, lifecycle, group };
}
