import * as z from "zod/mini";
import { formatIssues } from "../config/format-issues.js";
import { InvalidInputError } from "../errors.js";
import type { RecheckStep } from "../gate/ports.js";
import type { RecheckEvent } from "./gate-event.js";
import { INSTANCE_ID } from "./instance-id.js";

/**
 * A re-check message as this version reads it. Fields it does not know are ignored, not refused: a
 * deploy updates the functions that write re-checks and those that read them at different moments, so a
 * newer writer's message may reach an older reader (and the other way round); every field added since
 * the first version is optional, and a reader without it does the full, safe step.
 */
const recheckSchema = z.object({
  step: z.enum(["agent", "command", "health", "operation"]),
  instanceId: z.string().check(z.regex(INSTANCE_ID)),
  token: z.string().check(z.minLength(1)),
  commandId: z.optional(z.string().check(z.minLength(1))),
  forVersion: z.optional(z.int().check(z.minimum(1))),
  attempt: z.optional(z.int().check(z.minimum(1), z.maximum(100))),
  chain: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
  chainSince: z.optional(z.int().check(z.minimum(1))),
  seen: z.optional(
    z.object({
      version: z.int().check(z.minimum(1)),
      phase: z.enum(["awaiting-agent", "awaiting-health"]),
      groupName: z.string().check(z.minLength(1)),
      readBy: z.number(),
      startedAt: z.number(),
      bootstrapPhase: z.enum(["all", "prepare", "start"]),
      registeredAt: z.optional(z.number()),
      targets: z.optional(
        z.array(
          z.object({
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
