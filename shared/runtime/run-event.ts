import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import type { DrainRechecks } from "../drain/rechecks.js";
import { errorMessage, InvalidInputError, NotYetError, SkipEventError } from "../errors.js";
import type { GateEvent, RecheckEvent } from "../events/gate-event.js";
import type { DrainRecheckEvent } from "../events/parse-drain-recheck.js";
import type { RecheckScheduler } from "../gate/ports.js";
import { log, withCorrelation } from "../logger.js";

/**
 * The retry policy, in one place. A skip is acknowledged and logged once at info; invalid input is
 * acknowledged and logged as a warning (retrying cannot fix it, and must not become a retry storm);
 * anything else is rethrown so EventBridge's async retries or SQS redelivery try again.
 */
export async function runEvent(
  parse: () => GateEvent,
  handle: (event: GateEvent) => Promise<void>,
): Promise<void> {
  let event: GateEvent;
  try {
    event = parse();
  } catch (error) {
    return settleFailure(error);
  }
  await withCorrelation(correlationKeys(event), async () => {
    try {
      await handle(event);
    } catch (error) {
      settleFailure(error);
    }
  });
}

/** Logs a failed event once, and rethrows what a retry may fix. */
function settleFailure(error: unknown): void {
  if (error instanceof SkipEventError) {
    log.info(`skipped: ${error.message}`, error.details);
    return;
  }
  if (error instanceof InvalidInputError) {
    log.warn("rejected invalid input", { error: error.message });
    return;
  }
  if (error instanceof NotYetError) {
    log.info(`not yet: ${error.message}; will be retried`, error.details);
    throw error;
  }
  log.error("event failed; will be retried", {
    error: errorMessage(error),
    errorName: (error as Error).name,
  });
  throw error;
}

/** Fast retries of a failed re-check before falling back to SQS redelivery (the visibility timeout). */
export const MAX_FAST_RETRIES = 8;

/** 5 s, 10 s, 20 s, 40 s, then every 60 s. */
export function retryDelaySeconds(attempt: number): number {
  return Math.min(60, 5 * 2 ** (attempt - 1));
}

/**
 * How one SQS batch is handled: its steps, where their re-checks go, and what ends the batch. The gate
 * functions share reads and batch their sends (batch-scope.ts); others handle each message plainly.
 */
export interface BatchHandling {
  handle(event: GateEvent): Promise<void>;
  readonly rechecks: RecheckScheduler;
  /** Runs the handling of one SQS message; given, the batch's messages run at the same time. */
  within?(messageId: string, run: () => Promise<void>): Promise<void>;
  /** Called once all messages are handled: the message ids whose re-checks could not be sent. */
  finish?(): Promise<string[]>;
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
  open: (rechecks: readonly RecheckEvent[]) => Promise<BatchHandling>,
): Promise<SQSBatchResponse> {
  const failures = new Set<string>();
  const batch = await open(event.Records.flatMap((record) => parsedOrNothing(parse, record.body)));
  const runOne = async (messageId: string, body: string) => {
    let recheck: RecheckEvent | undefined;
    try {
      await runEvent(() => {
        recheck = parse(body);
        return recheck;
      }, batch.handle);
    } catch {
      if (!(recheck && (await retrySoon(recheck, batch.rechecks)))) failures.add(messageId);
    }
  };
  // A gate batch's messages are of different waits (or copies of one), each step guarded by its
  // record's conditional writes and claims: run them at once. Under throttling one step can spend many
  // seconds in the SDK's backoff; one after the other, ten such steps would outlast the function's
  // timeout and fail the whole batch.
  if (batch.within) {
    const within = batch.within;
    await Promise.all(
      event.Records.map(({ messageId, body }) => within(messageId, () => runOne(messageId, body))),
    );
  } else {
    // Without a scope of its own (the operations' steps, which send a command before any claim), two
    // copies of one step must not run at once: one after the other.
    for (const { messageId, body } of event.Records) await runOne(messageId, body);
  }
  for (const messageId of (await batch.finish?.()) ?? []) failures.add(messageId);
  return { batchItemFailures: [...failures].map((itemIdentifier) => ({ itemIdentifier })) };
}

/** The plain way: each message's step with the function's own wiring, nothing shared. */
export function plainBatch(handle: (event: GateEvent) => Promise<void>, rechecks: () => RecheckScheduler) {
  return async (): Promise<BatchHandling> => ({ handle, rechecks: rechecks() });
}

function parsedOrNothing(parse: (body: string) => RecheckEvent, body: string): RecheckEvent[] {
  try {
    return [parse(body)];
  } catch {
    return []; // reported when its turn comes
  }
}

/**
 * Schedules a failed re-check again after a short backoff (its `attempt` counted); false when it has
 * had its fast retries or the schedule itself failed.
 */
export async function retrySoon(recheck: RecheckEvent, rechecks: RecheckScheduler): Promise<boolean> {
  const attempt = (recheck.attempt ?? 0) + 1;
  if (attempt > MAX_FAST_RETRIES) return false;
  const { kind: _kind, ...message } = recheck;
  try {
    await rechecks.schedule({ ...message, attempt }, retryDelaySeconds(attempt));
    return true;
  } catch (error) {
    log.error("could not reschedule a failed re-check; leaving it to SQS redelivery", {
      error: errorMessage(error),
    });
    return false;
  }
}

/** retrySoon for a drain's re-check (shared/drain), through the drain's scheduler. */
export async function retryDrainSoon(recheck: DrainRecheckEvent, rechecks: DrainRechecks): Promise<boolean> {
  const attempt = (recheck.attempt ?? 0) + 1;
  if (attempt > MAX_FAST_RETRIES) return false;
  try {
    await rechecks.schedule(recheck.instanceId, recheck.token, retryDelaySeconds(attempt), attempt);
    return true;
  } catch (error) {
    log.error("could not reschedule a failed drain re-check; leaving it to SQS redelivery", {
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
