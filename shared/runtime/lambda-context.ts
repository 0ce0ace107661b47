import type { Context } from "aws-lambda";
import { logger } from "../logger.js";

/**
 * Every log line of an invocation carries its Lambda context (request id, function name and version,
 * cold start), so a line found in Logs Insights leads to its invocation. Wraps a handler; passes the
 * context on for those that use it (the reconciler's time budget). Lambda runs one invocation at a
 * time per environment, so the logger's context is this invocation's.
 */
export function withLambdaContext<E, C extends Partial<Context>, R>(
  handle: (event: E, context?: C) => Promise<R>,
): (event: E, context?: C) => Promise<R> {
  return (event, context) => {
    if (isLambdaContext(context)) logger.addContext(context);
    return handle(event, context);
  };
}

function isLambdaContext(context: unknown): context is Context {
  return typeof (context as Context | undefined)?.awsRequestId === "string";
}
