import type { SQSBatchResponse, SQSRecord } from "aws-lambda";
import { errorMessage, InvalidInputError, SkipEventError } from "../errors.js";
import type { GateEvent, RecheckEvent } from "../events/gate-event.js";
import { isWatchBody, parseWatch } from "../events/parse-watch.js";
import type { GateDeps } from "../gate/deps.js";
import { type RunStep, runWatch } from "../gate/watch/run-watch.js";
import type { WatchKind } from "../gate/watch/watch.js";
import { log, withCorrelation } from "../logger.js";
import { retrySoon, runEvent } from "./run-event.js";

/** The part of Lambda's context a watch reads: how long the invocation has left. */
export interface RemainingTime {
  readonly getRemainingTimeInMillis?: () => number;
}

/** When the invocation will be stopped (epoch ms on the gate's clock), if the context says. */
export function invocationDeadline(deps: Pick<GateDeps, "now">, context?: RemainingTime): number | undefined {
  const remaining = context?.getRemainingTimeInMillis?.();
  return remaining === undefined ? undefined : deps.now() + remaining;
}

/**
 * Handles an SQS batch whose watch messages (of `kind`) run beside its other records (`others`):
 * a watch runs for seconds, so not before them; and it is awaited even when the others fail, never
 * left running past the invocation (it would resume, stale, in the next one).
 */
export async function alongsideWatches(
  records: readonly SQSRecord[],
  kind: WatchKind,
  deps: () => GateDeps,
  handle: (deps: GateDeps, event: GateEvent) => Promise<void>,
  context: RemainingTime | undefined,
  others: (records: SQSRecord[]) => Promise<SQSBatchResponse>,
): Promise<SQSBatchResponse> {
  const { watches, others: rest } = splitWatches(records);
  // The gate's wiring only when a watch runs: a batch of drain re-checks never builds it.
  const watching = Promise.all(
    watches.map((record) =>
      runWatchMessage(deps(), record.body, kind, handle, invocationDeadline(deps(), context)),
    ),
  );
  try {
    return rest.length > 0 ? await others(rest) : { batchItemFailures: [] };
  } finally {
    await watching;
  }
}

/** The SQS records of a batch that are watch messages, and the rest. */
export function splitWatches(records: readonly SQSRecord[]): {
  readonly watches: SQSRecord[];
  readonly others: SQSRecord[];
} {
  const watches = records.filter((record) => isWatchBody(record.body));
  return { watches, others: records.filter((record) => !watches.includes(record)) };
}

/**
 * Runs the watch a message asks for. Never fails the message: a watch that cannot run is one the
 * waits' own rounds start again once its lease ends (gate/watch/join-watch.ts), while a redelivered
 * message would only find its hop taken.
 */
export async function runWatchMessage(
  deps: GateDeps,
  body: string,
  kind: WatchKind,
  handle: (deps: GateDeps, event: GateEvent) => Promise<void>,
  /** When the invocation is stopped (epoch ms), from the Lambda context, when known. */
  invocationDeadline?: number,
): Promise<void> {
  let message: ReturnType<typeof parseWatch>;
  try {
    message = parseWatch(body, kind);
  } catch (error) {
    log.warn("rejected invalid input", { error: errorMessage(error) });
    return;
  }
  await withCorrelation({ watch: kind, autoScalingGroupName: message.groupName }, async () => {
    try {
      await runWatch(deps, message, stepRunner(handle), invocationDeadline);
    } catch (error) {
      if (error instanceof SkipEventError) log.info(`skipped: ${error.message}`, error.details);
      else if (error instanceof InvalidInputError)
        log.warn("rejected invalid input", { error: error.message });
      else log.error("watch failed; the waits' own rounds start it again", { error: errorMessage(error) });
    }
  });
}

/**
 * A step the watch runs, as its re-check would run it: the same logging and retry policy; a failure
 * is retried through the queue as a failed re-check would be. Should even that fail, the watch runs
 * the step again itself ("unretried": watch-steps.ts).
 */
function stepRunner(handle: (deps: GateDeps, event: GateEvent) => Promise<void>): RunStep {
  return async (deps: GateDeps, recheck: RecheckEvent) => {
    try {
      await runEvent(
        () => recheck,
        (event) => handle(deps, event),
      );
    } catch {
      // Logged by runEvent.
      if (await retrySoon(recheck, deps.rechecks)) return "ran";
      log.warn("watched step failed and could not be rescheduled; the watch runs it again");
      return "unretried";
    }
    return "ran";
  };
}
