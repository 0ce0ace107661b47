import type { Context, SQSBatchResponse } from "aws-lambda";
import type { GateEvent } from "../../shared/events/gate-event.js";
import { parseRecheck } from "../../shared/events/parse-recheck.js";
import { advanceOperation, type OpsDeps } from "../../shared/ops/advance-operation.js";
import { awaitOperation } from "../../shared/ops/await-operation.js";
import { parseRebootstrapRequest } from "../../shared/ops/rebootstrap-request.js";
import { startRebootstrap } from "../../shared/ops/start-rebootstrap.js";
import { productionOpsDeps } from "../../shared/runtime/gate-deps.js";
import { isSqsEvent, runSqsBatch } from "../../shared/runtime/run-event.js";

/**
 * Re-bootstrap function. Invoked directly (`aws lambda invoke`, or `launchgate rebootstrap`) with a
 * request (see shared/ops/rebootstrap-request.ts); its SQS queue brings the operation's steps. A refused
 * request throws InvalidInputError: the caller gets its message, and nothing was changed.
 */
export function createHandler(
  deps: () => OpsDeps,
  sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
) {
  const dispatch = async (event: GateEvent) => {
    if (event.kind === "recheck" && event.step === "operation") await advanceOperation(deps(), event.token);
  };
  return async (
    event: unknown,
    context?: Pick<Context, "getRemainingTimeInMillis">,
  ): Promise<SQSBatchResponse | unknown> => {
    if (isSqsEvent(event)) {
      return runSqsBatch(
        event,
        (body) => parseRecheck(body, ["operation"]),
        dispatch,
        () => deps().rechecks,
      );
    }
    const request = parseRebootstrapRequest(event);
    const remaining = () => context?.getRemainingTimeInMillis() ?? 0;
    if (request.kind === "status")
      return { operation: (await deps().operations.load(request.operationId)) ?? null };
    const plan = await startRebootstrap(deps(), request);
    if (!request.wait || !plan.operation) return plan;
    return {
      ...plan,
      operation: await awaitOperation(deps().operations, plan.operation.operationId, remaining, sleep),
    };
  };
}

export const handler = createHandler(productionOpsDeps);
