import type { CommandInvocation } from "./bootstrap-command.js";
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
    "carries AmazonSSMManagedInstanceCore, that the AMI runs the SSM agent, and that the subnet reaches the " +
    "SSM endpoints (NAT, or VPC endpoints for ssm, ssmmessages and ec2messages)"
  );
}

/** The step the script names in its `launchgate: FAILED step <name>` line (see bootstrap/bootstrap.sh). */
export function failedStep(invocation: CommandInvocation): string | undefined {
  const match = /launchgate: FAILED step ([\w-]+)/.exec(`${invocation.stderr}\n${invocation.stdout}`);
  return match?.[1];
}

export function bootstrapFailed(commandId: string, invocation: CommandInvocation): string {
  const step = failedStep(invocation);
  const what = step ? `bootstrap step "${step}" failed` : "bootstrap command failed";
  const tail = outputTail(invocation.stderr || invocation.stdout);
  return `${what} (command ${commandId}, status ${invocation.statusDetails})${tail ? `: ${tail}` : ""}`;
}

/** SSM ended the command at the document's execution timeout. */
export function bootstrapExecutionTimedOut(
  commandId: string,
  seconds: number,
  invocation: CommandInvocation,
): string {
  const step = failedStep(invocation);
  const tail = outputTail(invocation.stdout.split("\n").filter(Boolean).at(-1) ?? "");
  return (
    `bootstrap command ${commandId} hit the document's execution timeout of ${seconds} s` +
    `${step ? ` in step "${step}"` : tail ? ` (last output: ${tail})` : ""}: ` +
    "check the instance's network path to the image registry, or raise groups[].bootstrapTimeoutSeconds"
  );
}

export function bootstrapTimedOut(commandId: string, seconds: number, status: string): string {
  return (
    `bootstrap command ${commandId} did not finish within ${seconds} s (status ${status}): ` +
    "check the instance's network path to the image registry and the document's step output in SSM Run Command"
  );
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

export function gateDeadlinePassed(seconds: number, phase: string): string {
  return `launch gate deadline of ${seconds} s passed while ${phase}: see the gate record history for the slow step`;
}

/** The overall deadline passed while waiting for health, and a last look found it still not healthy. */
export function gateDeadlinePassedUnhealthy(
  seconds: number,
  observations: readonly HealthObservation[],
): string {
  return `launch gate deadline of ${seconds} s passed while awaiting-health: ${unhealthyTargets(observations)}. ${HEALTH_ADVICE}`;
}

/** The overall deadline passed, but the last look before abandoning found the instance healthy everywhere. */
export function healthyAtDeadline(
  targetNames: readonly string[],
  seconds: number,
  waitedSeconds: number,
): string {
  return `healthy in ${targetNames.join(", ")} at the launch gate deadline of ${seconds} s (${waitedSeconds} s after registration)`;
}

export function outputTail(text: string): string {
  const clean = text
    // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping terminal colour escapes is the point
    .replace(/\u001b\[[0-9;]*m/g, "")
    .replace(/\s+/g, " ")
    .trim();
  return clean.length > OUTPUT_TAIL_CHARS ? `…${clean.slice(-OUTPUT_TAIL_CHARS)}` : clean;
}
