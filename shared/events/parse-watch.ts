import * as z from "zod/mini";
import { formatIssues } from "../config/format-issues.js";
import { InvalidInputError } from "../errors.js";
import { MAX_LEAVING, type WatchKind, type WatchMessage } from "../gate/watch/watch.js";
import { INSTANCE_ID } from "./instance-id.js";

/**
 * A watch's message (gate/watch): on the launch function's queue for the agent watch, the
 * command-result function's for the health watch, beside the re-checks.
 */
const watchSchema = z.object({
  watch: z.enum(["agent", "health"]),
  groupName: z.string().check(z.minLength(1), z.maxLength(255)),
  chain: z.string().check(z.minLength(1), z.maxLength(64)),
  hop: z.int().check(z.minimum(0)),
  leaving: z.optional(z.array(z.string().check(z.regex(INSTANCE_ID))).check(z.maxLength(MAX_LEAVING))),
});

/** Whether an SQS message body is a watch's (cheap look at its `watch` field; the parser checks the rest). */
export function isWatchBody(body: string): boolean {
  try {
    const json = JSON.parse(body) as { watch?: unknown } | null;
    return typeof json === "object" && json !== null && json.watch !== undefined;
  } catch {
    return false;
  }
}

/** Parses a watch message; `kind` is the watch this function runs. */
export function parseWatch(body: string, kind: WatchKind): WatchMessage {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new InvalidInputError("watch message is not JSON");
  }
  const parsed = watchSchema.safeParse(json, { reportInput: true });
  if (!parsed.success) {
    throw new InvalidInputError(`malformed watch message: ${formatIssues(parsed.error.issues).join("; ")}`);
  }
  if (parsed.data.watch !== kind) {
    throw new InvalidInputError(`the ${parsed.data.watch} watch is not run by this function`);
  }
  return parsed.data;
}
