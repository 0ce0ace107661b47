import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { errorMessage, InvalidInputError, SkipEventError } from "../errors.js";
import type { GateEvent } from "../events/gate-event.js";
import { logger } from "../logger.js";

/**
 * The retry policy, in one place. A skip is acknowledged and logged once at info; invalid input is
 * acknowledged and logged as a warning (retrying cannot fix it, and must not become a retry storm);
 * anything else is rethrown so EventBridge's async retries or SQS redelivery try again.
 */
export async function runEvent(
  parse: () => GateEvent,
  handle: (event: GateEvent) => Promise<void>,
): Promise<void> {
  try {
    const event = parse();
    logger.appendKeys(correlationKeys(event));
    await handle(event);
  } catch (error) {
    if (error instanceof SkipEventError) {
      logger.info(`skipped: ${error.message}`, error.details);
      return;
    }
    if (error instanceof InvalidInputError) {
      logger.warn("rejected invalid input", { error: error.message });
      return;
    }
    logger.error("event failed; will be retried", {
      error: errorMessage(error),
      errorName: (error as Error).name,
    });
    throw error;
  } finally {
    logger.resetKeys();
  }
}

/** Runs each SQS record independently and reports only the failed ones for redelivery. */
export async function runSqsBatch(
  event: SQSEvent,
  parse: (body: string) => GateEvent,
  handle: (event: GateEvent) => Promise<void>,
): Promise<SQSBatchResponse> {
  const batchItemFailures: SQSBatchResponse["batchItemFailures"] = [];
  for (const record of event.Records) {
    try {
      await runEvent(() => parse(record.body), handle);
    } catch {
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
}

export function isSqsEvent(event: unknown): event is SQSEvent {
  const records = (event as { Records?: { eventSource?: string }[] } | null)?.Records;
  return Array.isArray(records) && records.every((record) => record?.eventSource === "aws:sqs");
}

function correlationKeys(event: GateEvent): Record<string, string> {
  switch (event.kind) {
    case "launch":
      return {
        instanceId: event.instanceId,
        autoScalingGroupName: event.groupName,
        lifecycleActionToken: event.token,
      };
    case "command-finished":
      return { instanceId: event.instanceId, commandId: event.commandId };
    case "recheck":
      return { instanceId: event.instanceId, lifecycleActionToken: event.token, recheck: event.step };
  }
}
