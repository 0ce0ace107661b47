import type { SQSBatchResponse } from "aws-lambda";
import type { GateEvent } from "../../shared/events/gate-event.js";
import { parseCommandStatus } from "../../shared/events/parse-command-status.js";
import { parseRecheck } from "../../shared/events/parse-recheck.js";
import { onCommandFinished, onCommandRecheck } from "../../shared/gate/command-outcome.js";
import type { GateDeps } from "../../shared/gate/deps.js";
import { onHealthRecheck } from "../../shared/gate/health-gate.js";
import { gateBatch } from "../../shared/runtime/batch-scope.js";
import { productionWatchingDeps } from "../../shared/runtime/gate-deps.js";
import { withLambdaContext } from "../../shared/runtime/lambda-context.js";
import { isSqsEvent, runEvent, runSqsBatch } from "../../shared/runtime/run-event.js";
import { alongsideWatches, type RemainingTime } from "../../shared/runtime/watch-messages.js";

/**
 * Command-result function: EventBridge "EC2 Command Invocation Status-change Notification" for our
 * bootstrap documents, and its SQS queue bringing command and health re-checks and the groups' health
 * watches (shared/gate/watch).
 */
export function createHandler(deps: () => GateDeps) {
  const dispatch = (gate: GateDeps) => async (event: GateEvent) => {
    if (event.kind === "command-finished") return onCommandFinished(gate, event);
    if (event.kind === "recheck" && event.step === "command") return onCommandRecheck(gate, event);
    if (event.kind === "recheck" && event.step === "health") return onHealthRecheck(gate, event);
  };
  return async (event: unknown, context?: RemainingTime): Promise<SQSBatchResponse | undefined> => {
    if (isSqsEvent(event)) {
      return alongsideWatches(
        event.Records,
        "health",
        deps,
        (gate, e) => dispatch(gate)(e),
        context,
        (others) =>
          runSqsBatch(
            { Records: others },
            (body) => parseRecheck(body, ["command", "health"]),
            gateBatch(deps, dispatch),
          ),
      );
    }
    await runEvent(() => parseCommandStatus(event), dispatch(deps()));
    return undefined;
  };
}

export const handler = withLambdaContext(createHandler(productionWatchingDeps));
