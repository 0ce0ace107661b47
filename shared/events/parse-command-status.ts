import * as z from "zod/mini";
import { formatIssues } from "../config/format-issues.js";
import { InvalidInputError } from "../errors.js";
import type { CommandFinishedEvent } from "./gate-event.js";
import { INSTANCE_ID } from "./instance-id.js";
import { COMMAND_INVOCATION_DETAIL_TYPE } from "./patterns.js";

/*
 * Sample (docs/aws-facts.md, events):
 * {"version":"0","id":"…","detail-type":"EC2 Command Invocation Status-change Notification","source":"aws.ssm",
 *  "account":"123456789012","time":"2026-11-28T05:00:00Z","region":"eu-west-2",
 *  "resources":["arn:aws:ec2:eu-west-2:123456789012:instance/i-0abc…"],
 *  "detail":{"command-id":"8a1c…","document-name":"launchgate-cnt-backend-cnt-backend-asg-bootstrap",
 *   "instance-id":"i-0abc…","requested-date-time":"2026-11-28T04:58:00Z","status":"Success"}}
 * The event carries no output: the handler calls GetCommandInvocation.
 */
const commandStatusSchema = z.object({
  source: z.literal("aws.ssm"),
  "detail-type": z.literal(COMMAND_INVOCATION_DETAIL_TYPE),
  detail: z.object({
    "command-id": z.string().check(z.minLength(1)),
    "document-name": z.string().check(z.minLength(1)),
    "instance-id": z.string().check(z.regex(INSTANCE_ID)),
    status: z.string().check(z.minLength(1)),
  }),
});

export function parseCommandStatus(raw: unknown): CommandFinishedEvent {
  const parsed = commandStatusSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    throw new InvalidInputError(
      `malformed command status event: ${formatIssues(parsed.error.issues).join("; ")}`,
    );
  }
  const { detail } = parsed.data;
  return {
    kind: "command-finished",
    instanceId: detail["instance-id"],
    commandId: detail["command-id"],
    documentName: detail["document-name"],
    status: detail.status,
  };
}
