import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { errorMessage, InvalidInputError, NotYetError, SkipEventError } from "../errors.js";
import type { GateEvent, RecheckEvent } from "../events/gate-event.js";
import type { RecheckScheduler } from "../gate/ports.js";
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
    if (error instanceof NotYetError) {
      logger.info(`not yet: ${error.message}; will be retried`, error.details);
      throw error;
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

/** Fast retries of a failed re-check before falling back to SQS redelivery (the visibility timeout). */
export const MAX_FAST_RETRIES = 8;

/** 5 s, 10 s, 20 s, 40 s, then every 60 s. */
export function retryDelaySeconds(attempt: number): number {
  return Math.min(60, 5 * 2 ** (attempt - 1));
}

/**
 * Runs each SQS record independently. A re-check that fails (throttling, a transient error) is
 * rescheduled by us after a short backoff and acknowledged: SQS's own redelivery waits for the whole
 * visibility timeout, which can be longer than what is left of the hook's heartbeat. Only when that
 * reschedule is impossible (too many attempts, or SendMessage itself fails) is the record reported
 * failed, for SQS to redeliver and eventually move to the failure queue.
 */
export async function runSqsBatch(
  event: SQSEvent,
  parse: (body: string) => RecheckEvent,
  handle: (event: GateEvent) => Promise<void>,
  rechecks: () => RecheckScheduler,
): Promise<SQSBatchResponse> {
  const batchItemFailures: SQSBatchResponse["batchItemFailures"] = [];
  for (const record of event.Records) {
    let recheck: RecheckEvent | undefined;
    try {
      await runEvent(() => {
        recheck = parse(record.body);
        return recheck;
      }, handle);
    } catch {
      if (!(recheck && (await retrySoon(recheck, rechecks))))
        batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
}

async function retrySoon(recheck: RecheckEvent, rechecks: () => RecheckScheduler): Promise<boolean> {
  const attempt = (recheck.attempt ?? 0) + 1;
  if (attempt > MAX_FAST_RETRIES) return false;
  const { kind: _kind, ...message } = recheck;
  try {
    await rechecks().schedule({ ...message, attempt }, retryDelaySeconds(attempt));
    return true;
  } catch (error) {
    logger.error("could not reschedule a failed re-check; leaving it to SQS redelivery", {
      error: errorMessage(error),
    });
    return false;
  }
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
    case "alarm":
      return { alarmName: event.alarmName };
  }
}
