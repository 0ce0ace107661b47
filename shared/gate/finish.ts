import { emitAll } from "../metrics/emit.js";
import { launchCompletedMetrics, outcomeNotAppliedMetrics } from "../metrics/launch-metrics.js";
import type { GateDeps } from "./deps.js";
import {
  type CompletionResult,
  completeLifecycleAction,
  describeLifecycle,
  type InstanceLifecycle,
  isWaitingAtHook,
  outcomeApplied,
} from "./lifecycle-actions.js";
import { advance, type GateRecord } from "./record.js";
import { deregisterAll } from "./target-health.js";

/**
 * Ending a wait. The outcome is claimed in the store first (a conditional write): of two invocations
 * racing to finish the same wait, exactly one proceeds, so the hook never receives conflicting results.
 * If the process dies after the claim, `resumeCompletion` finishes the job on the next event.
 */

/**
 * How a completion ended: "completed" by our call; "completed-elsewhere" when the action was no longer
 * active but the instance shows our outcome applied (another invocation delivered the same claim);
 * "not-active" when the wait ended otherwise (timed out, or completed by someone else), or when the
 * hook that holds the instance now is a later wait than this record's.
 */
export type FinishResult = CompletionResult | "completed-elsewhere";

/** Completes with CONTINUE: the instance serves traffic (or, for a warm pool, is prepared). */
export async function continueLaunch(
  deps: GateDeps,
  record: GateRecord,
  reason: string,
): Promise<FinishResult> {
  const claimed = advance(record, { phase: "continued", outcome: "CONTINUE", reason }, reason, deps.now());
  await deps.store.save(claimed);
  decided(deps, claimed);
  return complete(deps, claimed);
}

/** Deregisters what the gate registered, then completes with ABANDON: Auto Scaling replaces the instance. */
export async function abandonLaunch(
  deps: GateDeps,
  record: GateRecord,
  reason: string,
): Promise<FinishResult> {
  const claimed = advance(record, { phase: "abandoned", outcome: "ABANDON", reason }, reason, deps.now());
  await deps.store.save(claimed);
  decided(deps, claimed);
  return complete(deps, claimed);
}

/**
 * The gate decided: logged and counted here, once — the claim's conditional write lets exactly one
 * invocation get this far — whether its completion then applies, is delivered by a resumed claim, or
 * finds the hook already ended (that is counted on its own, as an outcome not applied).
 */
function decided(deps: GateDeps, claimed: GateRecord): void {
  // The group by name on the line itself: re-check invocations' correlation keys do not carry it, and
  // the saved "abandons" query groups by it.
  const fields = {
    outcome: claimed.outcome,
    reason: claimed.reason,
    waitedSeconds: Math.round((deps.now() - claimed.startedAt) / 1000),
    groupName: claimed.groupName,
  };
  if (claimed.outcome === "ABANDON") deps.log.error("launch abandoned", fields);
  else deps.log.info("launch continued", fields);
  emitAll(deps, launchCompletedMetrics(claimed, deps.now()));
}

/**
 * Redoes the completion of a record whose outcome was claimed but whose hook is still waiting.
 * "not-active" means the waiting hook is another wait (the claimed one had ended after all).
 */
export async function resumeCompletion(deps: GateDeps, record: GateRecord): Promise<FinishResult> {
  deps.log.warn("resuming an interrupted completion", { outcome: record.outcome });
  return complete(deps, record);
}

async function complete(deps: GateDeps, record: GateRecord): Promise<FinishResult> {
  const outcome = record.outcome ?? "ABANDON";
  if (outcome === "ABANDON") await deregisterAll(deps, record.instanceId, record.registered);
  const result = await completeLifecycleAction(deps, record, outcome);
  const fields = { outcome, completion: result, groupName: record.groupName };
  if (result === "not-active") {
    const lifecycle = await describeLifecycle(deps, record.instanceId);
    if (outcomeApplied(outcome, lifecycle, record.mode)) {
      // Another invocation delivered this very claim first: nothing went wrong, nothing to record. An
      // instance our outcome let through that waits at a hook again (out of the warm pool) is in a
      // later wait, which is no longer this record's: "not-active" tells the caller so.
      const later = isWaitingAtHook(lifecycle);
      deps.log.info("lifecycle action already completed with our outcome", {
        ...fields,
        ...(later ? { laterWait: lifecycle?.state } : {}),
      });
      return later ? "not-active" : "completed-elsewhere";
    }
    // The steps do not ask Auto Scaling between the event and the end (active-wait.ts), so this may be
    // the first sign the instance is going away: what the gate registered must not keep its traffic.
    if (outcome === "CONTINUE" && (!lifecycle || lifecycle.state.startsWith("Terminat"))) {
      await deregisterAll(deps, record.instanceId, record.registered);
    }
    // Timed out or completed by someone else: record it, since our outcome did not take effect.
    deps.log.warn("lifecycle action was no longer active; our outcome did not apply", fields);
    emitAll(deps, outcomeNotAppliedMetrics(record));
    await deps.store.save(
      advance(record, {}, `hook no longer waiting when completing with ${outcome}`, deps.now()),
    );
    return result;
  }
  deps.log.info("lifecycle action completed", fields);
  return result;
}

/**
 * The instance left the wait without us (terminated, or completed by someone else): record that and
 * stop quietly. Targets are only removed when the instance is really going away — never from an
 * instance someone else put InService.
 */
export async function recordGone(
  deps: GateDeps,
  record: GateRecord,
  lifecycle: InstanceLifecycle | undefined,
): Promise<void> {
  const where = lifecycle ? `instance is now ${lifecycle.state}` : "instance is no longer in the group";
  const leaving = !lifecycle || lifecycle.state.startsWith("Terminat");
  if (leaving) await deregisterAll(deps, record.instanceId, record.registered);
  await deps.store.save(advance(record, { phase: "gone", reason: where }, `stopped: ${where}`, deps.now()));
  deps.log.info("instance left the wait; gate stopped", { lifecycleState: lifecycle?.state ?? "absent" });
}
