import { BOOTSTRAP_STEP_NAME } from "../config/defaults.js";
import { type CommandInvocation, DELIVERY_TIMEOUT_SECONDS } from "./bootstrap-command.js";
import type { HealthObservation } from "./target-health.js";

/**
 * The sentences an operator reads at 3 a.m. Each says what happened and what to change. Kept in one
 * place so the log line, the gate record and the CLI all say the same thing.
 */

/** How much of the command's stderr/stdout we keep: enough to see the failing command, not a log dump. */
const OUTPUT_TAIL_CHARS = 600;

export function agentNeverOnline(timeoutSeconds: number, lastPing: string | undefined): string {
  const seen = lastPing ? `last ping status ${lastPing}` : "the instance never registered with SSM";
  return (
    `SSM agent did not come Online within ${timeoutSeconds} s (${seen}): check that the instance profile ` +
    "carries the SSM agent's permissions (ssmAgentPolicyStatements(), or AmazonSSMManagedInstanceCore), " +
    "that the AMI runs the SSM agent, and that the subnet reaches the SSM endpoints (NAT, or VPC endpoints " +
    "for ssm, ssmmessages and ec2messages)"
  );
}

/** The step the script names in its `launchgate: FAILED step <name>` line (see bootstrap/bootstrap.sh). */
export function failedStep(invocation: CommandInvocation): string | undefined {
  const marks = [
    ...`${invocation.stderr}\n${invocation.stdout}`.matchAll(/launchgate: FAILED step ([\w-]+)/g),
  ];
  return marks.at(-1)?.[1];
}

/**
 * The last step the script announced on stdout (`launchgate: step <name>`): where it was when its output
 * stopped. The script keeps stdout to its own short lines so that this survives SSM's cut.
 */
export function lastStartedStep(invocation: CommandInvocation): string | undefined {
  const steps = [...invocation.stdout.matchAll(/^launchgate: step ([\w-]+)$/gm)];
  return steps.at(-1)?.[1];
}

/** What the SSM agent puts at the end of a stream it cut (amazon-ssm-agent, pluginutil.StringPrefix). */
const TRUNCATED_SUFFIX = "--output truncated--";
/** GetCommandInvocation's limits (docs/aws-facts.md, SSM Run Command). */
const STDERR_LIMIT = 8_000;
const STDOUT_LIMIT = 24_000;

function truncated(text: string, limit: number): boolean {
  return text.endsWith(TRUNCATED_SUFFIX) || text.length >= limit;
}

/** Where the full output is: the command's CloudWatch Logs streams, when it sent its output there. */
function fullOutput(commandId: string, invocation: CommandInvocation): string {
  if (!invocation.outputLogGroup) return "";
  const stream = `${commandId}/${invocation.instanceId ?? "<instance-id>"}/${BOOTSTRAP_STEP_NAME}`;
  return `full output in CloudWatch Logs group ${invocation.outputLogGroup}, streams ${stream}/stdout and ${stream}/stderr`;
}

/**
 * StatusDetails as the API spells it. The documentation writes "Delivery Timed Out"; SDK docs and
 * responses use "DeliveryTimedOut": compare without spaces (docs/aws-facts.md, SSM Run Command).
 */
function details(invocation: CommandInvocation): string {
  return invocation.statusDetails.replace(/\s+/g, "");
}

/**
 * A command that SSM ended for a reason of its own, not the script's: never delivered, undeliverable,
 * refused (platform, access) or terminated. Undefined for the script's own outcomes (Failed,
 * ExecutionTimedOut), a cancellation (its status says it all) and details this code does not know.
 */
function endedBySsm(commandId: string, invocation: CommandInvocation): string | undefined {
  switch (details(invocation)) {
    case "DeliveryTimedOut":
      return (
        `bootstrap command ${commandId} was never delivered to the SSM agent within its delivery timeout of ${DELIVERY_TIMEOUT_SECONDS} s ` +
        "(StatusDetails DeliveryTimedOut); nothing ran on the instance: its agent was offline or could not reach SSM " +
        "(e.g. just after a warm-pool instance was started, or the route to the SSM endpoints broke)"
      );
    case "Undeliverable":
      return (
        `bootstrap command ${commandId} could not be delivered (StatusDetails Undeliverable); nothing ran: ` +
        "the instance may no longer exist, or its SSM agent is not responding"
      );
    case "Terminated":
      return `bootstrap command ${commandId} was terminated by SSM (StatusDetails Terminated: its parent command exceeded MaxErrors)`;
    case "InvalidPlatform":
      return (
        `bootstrap command ${commandId} was not run (StatusDetails InvalidPlatform): the instance's platform does not ` +
        "match the document's precondition (platformType Linux); nothing ran: the group's launch template needs a Linux AMI"
      );
    case "AccessDenied":
      return (
        `bootstrap command ${commandId} was not run (StatusDetails AccessDenied): the role that sent it may not run ` +
        "commands on this instance; nothing ran: check the launch and operations functions' ssm:SendCommand permission on " +
        "the instance (its aws:autoscaling:groupName tag condition) and on the document"
      );
    default:
      return undefined;
  }
}

export function bootstrapFailed(commandId: string, invocation: CommandInvocation): string {
  const ended = endedBySsm(commandId, invocation);
  if (ended) return ended;
  const marked = failedStep(invocation);
  const step = marked ?? lastStartedStep(invocation);
  const what = marked
    ? `bootstrap step "${marked}" failed`
    : step
      ? `bootstrap failed during step "${step}"`
      : "bootstrap command failed";
  // A cut stderr ends in the middle of the tool output: the script's own lines for the step are then
  // the only reliable ones (its reason, when it gave one, is among them).
  const stderrCut = truncated(invocation.stderr, STDERR_LIMIT);
  const tail = outputTail(stderrCut || !invocation.stderr ? stepLines(invocation.stdout) : invocation.stderr);
  const where = fullOutput(commandId, invocation);
  const notes = [
    stderrCut && "SSM kept only the first 8,000 characters of stderr",
    truncated(invocation.stdout, STDOUT_LIMIT) && "SSM kept only the first 24,000 characters of stdout",
    where,
  ].filter(Boolean);
  return `${what} (command ${commandId}, status ${invocation.statusDetails})${tail ? `: ${tail}` : ""}${notes.length > 0 ? ` [${notes.join("; ")}]` : ""}`;
}

/** SSM ended the command with status TimedOut: at delivery, or at the document's execution timeout. */
export function bootstrapExecutionTimedOut(
  commandId: string,
  seconds: number,
  invocation: CommandInvocation,
): string {
  const ended = endedBySsm(commandId, invocation);
  if (ended) return ended;
  // SSM kills the script outright (no FAILED line): the last step it announced is where it was.
  const marked = failedStep(invocation);
  const started = marked ? undefined : lastStartedStep(invocation);
  const said = outputTail(started ? stepLines(invocation.stdout) : lastLine(invocation.stdout));
  const output = said ? ` (last output: ${said})` : "";
  const where = fullOutput(commandId, invocation);
  const during = marked ? ` in step "${marked}"` : started ? ` during step "${started}"${output}` : output;
  return (
    `bootstrap command ${commandId} hit the document's execution timeout of ${seconds} s${during}: ` +
    "check the instance's network path to the image registry, or raise groups[].bootstrapTimeoutSeconds" +
    (where ? ` [${where}]` : "")
  );
}

/** Our own deadline passed with the command not final: say what SSM's status means for where it is. */
export function bootstrapTimedOut(commandId: string, seconds: number, status: string): string {
  const advice =
    status === "Pending" || status === "Delayed"
      ? "it never started: SSM has not delivered it to the instance's agent, so check that the agent is Online and reaches the SSM endpoints"
      : "check the instance's network path to the image registry and the document's step output in SSM Run Command";
  return `bootstrap command ${commandId} did not finish within ${seconds} s (status ${status}): ${advice}`;
}

export function notInUseNoListener(targetGroup: string): string {
  return (
    `target group ${targetGroup} reports Target.NotInUse because no listener rule forwards to it: ` +
    "add a listener rule for it, or detach it from the Auto Scaling group"
  );
}

export function notInUseZone(
  targetGroup: string,
  instanceZone: string,
  loadBalancer: string,
  zones: string[],
): string {
  return (
    `target group ${targetGroup} reports Target.NotInUse: the instance is in ${instanceZone} but load balancer ` +
    `${loadBalancer} has only ${zones.join(", ") || "no zones"} enabled: enable ${instanceZone} on the load balancer ` +
    "or remove that zone's subnet from the Auto Scaling group"
  );
}

/**
 * SSM refused the bootstrap outright: say which error, and point at what produces it — the launch
 * function's IAM role, the deployed document, or the parameters launchgate sends.
 */
export function bootstrapNotSent(
  documentName: string,
  errorName: string,
  message: string,
  sender: "launch" | "operations" = "launch",
): string {
  return `bootstrap could not be sent (${errorName || "Error"}: ${outputTail(message)}): check ${sendRefusalAdvice(documentName, errorName, sender)}`;
}

function sendRefusalAdvice(documentName: string, errorName: string, sender: string): string {
  const role = `the IAM role of the ${sender} function allows ssm:SendCommand on the document and the instance`;
  const document = `SSM document ${documentName} exists in this account and region and its $LATEST version is valid (redeploy the stack)`;
  if (/AccessDenied|Unauthorized/i.test(errorName)) return `that ${role}`;
  if (errorName === "InvalidDocument" || errorName === "InvalidDocumentVersion") return `that ${document}`;
  if (errorName === "InvalidParameters")
    return `that the parameters launchgate sends (phase, trigger) match those of SSM document ${documentName}`;
  if (errorName === "UnsupportedPlatformType")
    return `that SSM document ${documentName} supports the instance's platform (a Linux shell document needs a Linux AMI)`;
  return `that ${role}, that ${document}, and the parameters launchgate sends (phase, trigger)`;
}

/** One clause per target group not yet healthy: its state, ALB's reason, and the check it runs. */
function unhealthyTargets(observations: readonly HealthObservation[]): string {
  return observations
    .filter((o) => o.state !== "healthy")
    .map((o) => {
      const why = [o.reason, o.description].filter(Boolean).join(": ");
      return `target group ${o.target.name} still reports ${o.state}${why ? ` (${why})` : ""}; health check: ${o.target.healthCheck}`;
    })
    .join("; ");
}

const HEALTH_ADVICE = "Check the app's health endpoint and the security group path from the load balancer";

export function neverHealthy(observations: readonly HealthObservation[], waitedSeconds: number): string {
  return `not healthy after ${waitedSeconds} s: ${unhealthyTargets(observations)}. ${HEALTH_ADVICE}`;
}

const GATE_DEADLINE = "launch gate deadline of";

/** Whether a reason is the overall deadline's (for the metrics' reason classes). */
export function isGateDeadlineReason(reason: string): boolean {
  return reason.startsWith(GATE_DEADLINE);
}

export function gateDeadlinePassed(seconds: number, phase: string): string {
  return `${GATE_DEADLINE} ${seconds} s passed while ${phase}: see the gate record history for the slow step`;
}

/** The overall deadline passed while waiting for health, and a last look found it still not healthy. */
export function gateDeadlinePassedUnhealthy(
  seconds: number,
  observations: readonly HealthObservation[],
): string {
  return `${GATE_DEADLINE} ${seconds} s passed while awaiting-health: ${unhealthyTargets(observations)}. ${HEALTH_ADVICE}`;
}

/** The overall deadline passed, but the last look before abandoning found the instance healthy everywhere. */
export function healthyAtDeadline(
  targetNames: readonly string[],
  seconds: number,
  waitedSeconds: number,
): string {
  return `healthy in ${targetNames.join(", ")} at the launch gate deadline of ${seconds} s (${waitedSeconds} s after registration)`;
}

function lastLine(text: string): string {
  return text.split("\n").filter(Boolean).at(-1) ?? "";
}

/** The script's stdout lines after its last `launchgate: step` line, without the FAILED line. */
function stepLines(stdout: string): string {
  const lines = stdout.split("\n").filter(Boolean);
  const start = lines.findLastIndex((line) => line.startsWith("launchgate: step "));
  return lines
    .slice(start + 1)
    .filter((line) => !line.startsWith("launchgate: FAILED step "))
    .join("\n");
}

export function outputTail(text: string): string {
  const clean = text
    // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping terminal colour escapes is the point
    .replace(/\u001b\[[0-9;]*m/g, "")
    .replace(/\s+/g, " ")
    .trim();
  return clean.length > OUTPUT_TAIL_CHARS ? `…${clean.slice(-OUTPUT_TAIL_CHARS)}` : clean;
}
