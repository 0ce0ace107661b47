import type { Context } from "aws-lambda";
import type { OpsDeps } from "../../shared/ops/advance-operation.js";
import { awaitOperation } from "../../shared/ops/await-operation.js";
import { parseRebootstrapRequest } from "../../shared/ops/rebootstrap-request.js";
import { startRebootstrap } from "../../shared/ops/start-rebootstrap.js";
import { productionOpsDeps } from "../../shared/runtime/gate-deps.js";
import { withLambdaContext } from "../../shared/runtime/lambda-context.js";

/**
 * Re-bootstrap function. Invoked directly (`aws lambda invoke`, or `launchgate rebootstrap`) with a
 * request (see shared/ops/rebootstrap-request.ts). It starts the operation; the operations function
 * (functions/operations) runs its steps. A refused request throws InvalidInputError: the caller gets
 * its message, and nothing was changed.
 */
export function createHandler(
  deps: () => OpsDeps,
  sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
) {
  return async (event: unknown, context?: Pick<Context, "getRemainingTimeInMillis">): Promise<unknown> => {
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

export const handler = withLambdaContext(createHandler(productionOpsDeps));
