import * as z from "zod/mini";
import { formatIssues } from "../config/format-issues.js";
import { InvalidInputError } from "../errors.js";
import type { RecheckStep } from "../gate/ports.js";
import type { RecheckEvent } from "./gate-event.js";
import { INSTANCE_ID } from "./instance-id.js";

const recheckSchema = z.strictObject({
  step: z.enum(["agent", "command", "health", "operation"]),
  instanceId: z.string().check(z.regex(INSTANCE_ID)),
  token: z.string().check(z.minLength(1)),
  commandId: z.optional(z.string().check(z.minLength(1))),
  attempt: z.optional(z.int().check(z.minimum(1), z.maximum(100))),
  seen: z.optional(
    z.strictObject({
      version: z.int().check(z.minimum(1)),
      phase: z.enum(["awaiting-agent", "awaiting-health"]),
      groupName: z.string().check(z.minLength(1)),
      readBy: z.number(),
      startedAt: z.number(),
      bootstrapPhase: z.enum(["all", "prepare", "start"]),
      registeredAt: z.optional(z.number()),
      targets: z.optional(
        z.array(
          z.strictObject({
            targetGroupArn: z.string().check(z.minLength(1)),
            name: z.string(),
            port: z.int(),
            intervalSeconds: z.number().check(z.positive()),
          }),
        ),
      ),
    }),
  ),
});

/** Parses an SQS message body written by SqsRecheckScheduler; `allowed` are the steps this function owns. */
export function parseRecheck(body: string, allowed: readonly RecheckStep[]): RecheckEvent {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new InvalidInputError("re-check message is not JSON");
  }
  const parsed = recheckSchema.safeParse(json, { reportInput: true });
  if (!parsed.success) {
    throw new InvalidInputError(
      `malformed re-check message: ${formatIssues(parsed.error.issues).join("; ")}`,
    );
  }
  if (!allowed.includes(parsed.data.step)) {
    throw new InvalidInputError(`re-check step "${parsed.data.step}" is not handled by this function`);
  }
  return { kind: "recheck", ...parsed.data };
}
