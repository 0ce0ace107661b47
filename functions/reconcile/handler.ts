import type { DrainDeps } from "../../shared/drain/drain.js";
import type { GateDeps } from "../../shared/gate/deps.js";
import { type ReconcileEntry, reconcile } from "../../shared/gate/reconcile.js";
import { logger } from "../../shared/logger.js";
import { productionDrainDeps } from "../../shared/runtime/drain-deps.js";
import { productionDeps } from "../../shared/runtime/gate-deps.js";
import { withLambdaContext } from "../../shared/runtime/lambda-context.js";

/** The part of the Lambda context the reconciler uses: its time left, so it stops before the timeout. */
export interface ReconcileContext {
  getRemainingTimeInMillis(): number;
}

/**
 * Reconcile function: run by an EventBridge schedule (every 2 minutes), or invoked by hand with `{}`.
 * The input carries nothing it needs; it returns what it did per waiting instance. Without a context
 * (a direct call, the simulation) the run has no time limit.
 */
export function createHandler(
  deps: () => GateDeps,
  drainDeps: () => DrainDeps = () => productionDrainDeps(deps()),
) {
  return async (
    _event: unknown,
    context?: ReconcileContext,
  ): Promise<{ reconciled: number; entries: ReconcileEntry[] }> => {
    const gate = deps();
    // Only a config with a draining group needs the drain's wiring (its store and re-check queue).
    const drains = gate.config.groups.some((group) => group.drain) ? { drains: drainDeps() } : {};
    const entries = await reconcile(gate, {
      ...(context ? { remainingMs: () => context.getRemainingTimeInMillis() } : {}),
      ...drains,
    });
    const counts: Record<string, number> = {};
    for (const entry of entries) counts[entry.action] = (counts[entry.action] ?? 0) + 1;
    logger.info("reconcile run finished", { waiting: entries.length, ...counts });
    return { reconciled: entries.length, entries };
  };
}

export const handler = withLambdaContext(createHandler(productionDeps));
