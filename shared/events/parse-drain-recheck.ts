import * as z from "zod/mini";
import { formatIssues } from "../config/format-issues.js";
import { InvalidInputError } from "../errors.js";
import { INSTANCE_ID } from "./instance-id.js";

/**
 * A drain re-check, written by SqsDrainRechecks (shared/drain/rechecks.ts) to the launch function's
 * queue. Its own step, "drain", beside the gate's steps (shared/gate/ports.ts RecheckStep).
 */
const drainRecheckSchema = z.strictObject({
  step: z.literal("drain"),
  instanceId: z.string().check(z.regex(INSTANCE_ID)),
  token: z.string().check(z.minLength(1)),
  attempt: z.optional(z.int().check(z.positive())),
});

export interface DrainRecheckEvent {
  readonly kind: "drain-recheck";
  readonly instanceId: string;
  /** The lifecycle action token of the drain it follows; another drain's re-check is dropped. */
  readonly token: string;
  /** How many times this re-check already failed and was retried (absent: a fresh one). */
  readonly attempt?: number;
}

/** Whether an SQS message body is a drain re-check (cheap look at its step; the parser checks the rest). */
export function isDrainRecheckBody(body: string): boolean {
  try {
    const json = JSON.parse(body) as { step?: unknown } | null;
    return typeof json === "object" && json !== null && json.step === "drain";
  } catch {
    return false;
  }
}

export function parseDrainRecheck(body: string): DrainRecheckEvent {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new InvalidInputError("drain re-check message is not JSON");
  }
  const parsed = drainRecheckSchema.safeParse(json, { reportInput: true });
  if (!parsed.success) {
    throw new InvalidInputError(
      `malformed drain re-check message: ${formatIssues(parsed.error.issues).join("; ")}`,
    );
  }
  const { instanceId, token, attempt } = parsed.data;
  return { kind: "drain-recheck", instanceId, token, ...(attempt === undefined ? {} : { attempt }) };
}
