import type { SQSBatchResponse } from "aws-lambda";
import { InvalidInputError } from "../../shared/errors.js";
import type { GateEvent } from "../../shared/events/gate-event.js";
import { parseRecheck } from "../../shared/events/parse-recheck.js";
import { advanceOperation, type OpsDeps } from "../../shared/ops/advance-operation.js";
import { productionOpsDeps } from "../../shared/runtime/gate-deps.js";
import { withLambdaContext } from "../../shared/runtime/lambda-context.js";
import { isSqsEvent, plainBatch, runSqsBatch } from "../../shared/runtime/run-event.js";

/**
 * Operations function: the consumer of the operations re-check queue. Each message advances one
 * maintenance operation (re-bootstrap or remediation) by one short step. It is a function of its own,
 * with the gate's short timeout, because Lambda refuses an SQS event source whose queue visibility
 * timeout is shorter than the function's: the re-bootstrap function keeps its 15 minutes for callers
 * that wait, and so cannot consume the queue.
 */
export function createHandler(deps: () => OpsDeps) {
  const dispatch = async (event: GateEvent) => {
    if (event.kind === "recheck" && event.step === "operation")
      await advanceOperation(deps(), event.token, event.attempt, event);
  };
  return async (event: unknown): Promise<SQSBatchResponse> => {
    if (!isSqsEvent(event)) {
      throw new InvalidInputError(
        "the operations function only consumes its re-check queue; invoke the re-bootstrap function instead",
      );
    }
    return runSqsBatch(
      event,
      (body) => parseRecheck(body, ["operation"]),
      plainBatch(dispatch, () => deps().rechecks),
    );
  };
}

export const handler = withLambdaContext(createHandler(productionOpsDeps));
