import type { SQSBatchResponse } from "aws-lambda";
import type { GateEvent } from "../../shared/events/gate-event.js";
import { parseLifecycleAction } from "../../shared/events/parse-lifecycle-action.js";
import { parseRecheck } from "../../shared/events/parse-recheck.js";
import type { GateDeps } from "../../shared/gate/deps.js";
import { onAgentRecheck, startGate } from "../../shared/gate/start-gate.js";
import { gateBatch } from "../../shared/runtime/batch-scope.js";
import { productionDeps } from "../../shared/runtime/gate-deps.js";
import { withLambdaContext } from "../../shared/runtime/lambda-context.js";
import { isSqsEvent, runEvent, runSqsBatch } from "../../shared/runtime/run-event.js";

/**
 * Launch function: EventBridge "EC2 Instance-launch Lifecycle Action" opens the gate; its SQS queue
 * brings the agent re-checks. Parses, dispatches, maps the outcome — nothing else.
 */
export function createHandler(deps: () => GateDeps) {
  const dispatch = (gate: GateDeps) => async (event: GateEvent) => {
    if (event.kind === "launch") return startGate(gate, event);
    if (event.kind === "recheck") return onAgentRecheck(gate, event);
  };
  return async (event: unknown): Promise<SQSBatchResponse | undefined> => {
    if (isSqsEvent(event)) {
      return runSqsBatch(event, (body) => parseRecheck(body, ["agent"]), gateBatch(deps, dispatch));
    }
    await runEvent(() => parseLifecycleAction(event), dispatch(deps()));
    return undefined;
  };
}

export const handler = withLambdaContext(createHandler(productionDeps));
