/**
 * Error classes shared by every function. Handlers choose retry vs. drop by class:
 * - `SkipEventError`: the event is not ours or no longer relevant (duplicate, late, unknown group).
 *   Acknowledge it, log once, never retry.
 * - `InvalidInputError`: the input is malformed or refused (bad manual invoke). Never retried; the caller
 *   is told exactly what is wrong.
 * - `NotYetError`: the event is ours but AWS's own view has not caught up with it yet. Like anything else
 *   below, it is rethrown so the event is redelivered; its class only names the cause.
 * - anything else: transient (throttling, 5xx, a race) — rethrow so EventBridge/SQS retries it.
 */

export class SkipEventError extends Error {
  override readonly name = "SkipEventError";
  constructor(
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export class InvalidInputError extends Error {
  override readonly name = "InvalidInputError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The event arrived before the API it must be checked against reflects it (Auto Scaling's API is
 * eventually consistent with its own events). Deliberately neither a SkipEventError nor an
 * InvalidInputError: the handler rethrows it, and EventBridge / Lambda async retries redeliver the
 * event once AWS has caught up, instead of dropping a wait nobody else would start.
 */
export class NotYetError extends Error {
  override readonly name = "NotYetError";
  constructor(
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** A save to the gate store lost an optimistic-concurrency race: another invocation owns this step. */
export class StaleRecordError extends SkipEventError {
  constructor(instanceId: string, expectedVersion: number | undefined) {
    super("gate record changed concurrently; the newer writer carries on", { instanceId, expectedVersion });
  }
}

/** Reads an AWS SDK v3 error's `name` and message without trusting its shape. */
export function awsErrorName(error: unknown): string {
  return typeof error === "object" && error !== null && "name" in error ? String(error.name) : "";
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
