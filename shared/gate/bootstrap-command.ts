import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  SendCommandCommand,
} from "@aws-sdk/client-ssm";
import { awsErrorName } from "../errors.js";
import type { GateDeps } from "./deps.js";
import type { BootstrapPhase } from "./record.js";

/** Final command statuses (AWS-FACTS §4). Anything else is treated as still running. */
const TERMINAL_STATUSES = new Set(["Success", "Failed", "TimedOut", "Cancelled"]);

/** How long SSM may take to *deliver* the command to an agent that is already Online. */
export const DELIVERY_TIMEOUT_SECONDS = 300;

/** The agent's ping status, or undefined when the instance has not registered with SSM yet. */
export async function agentPingStatus(deps: GateDeps, instanceId: string): Promise<string | undefined> {
  const { InstanceInformationList } = await deps.ssm.send(
    new DescribeInstanceInformationCommand({ Filters: [{ Key: "InstanceIds", Values: [instanceId] }] }),
  );
  const status = InstanceInformationList?.[0]?.PingStatus;
  return status === undefined ? undefined : String(status);
}

/** The comment ties a command to one wait, so a command sent just before a crash can be adopted. */
export function commandComment(token: string): string {
  return `launchgate launch ${token}`;
}

export interface SendBootstrapInput {
  readonly documentName: string;
  readonly instanceId: string;
  readonly bootstrapPhase: BootstrapPhase;
  /** Why it runs (a document parameter with fixed allowed values). */
  readonly trigger: "launch" | "rebootstrap" | "remediate";
  /** Recorded with the command: names the wait or operation it belongs to (SSM allows 100 characters). */
  readonly comment: string;
}

/** Sends the bootstrap document; returns the command id. Throws the SDK error unchanged. */
export async function sendBootstrapCommand(deps: GateDeps, input: SendBootstrapInput): Promise<string> {
  const { Command } = await deps.ssm.send(
    new SendCommandCommand({
      DocumentName: input.documentName,
      // The stack updates the document in place with a new version; run what it deployed last.
      DocumentVersion: "$LATEST",
      InstanceIds: [input.instanceId],
      Parameters: { phase: [input.bootstrapPhase], trigger: [input.trigger] },
      Comment: input.comment.slice(0, 100),
      TimeoutSeconds: DELIVERY_TIMEOUT_SECONDS,
    }),
  );
  if (!Command?.CommandId) throw new Error("SendCommand returned no command id");
  return Command.CommandId;
}

/** Before the agent registers, SendCommand fails with InvalidInstanceId (AWS-FACTS §4). */
export function isInvalidInstanceId(error: unknown): boolean {
  return awsErrorName(error) === "InvalidInstanceId";
}

/**
 * What a failed SendCommand means for the wait:
 * - `agent-not-addressable`: the agent is not registered yet (InvalidInstanceId); keep waiting for it.
 * - `transient`: throttled, a server fault, or no answer at all; retrying will get through.
 * - `refused`: SSM answered and said no (AccessDenied, InvalidDocument, InvalidParameters, …); no
 *   retry can change that, so waiting until the agent timeout would only hide the cause for minutes.
 */
export type SendFailure = "agent-not-addressable" | "transient" | "refused";

/** Error codes AWS uses for throttling (the SDK's own list also flags them with `$retryable.throttling`). */
const THROTTLING_ERRORS = new Set([
  "ThrottlingException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "Throttling",
  "ThrottledException",
  "RequestThrottledException",
]);

/** A request that got no answer: the SDK's timeout names and Node's network error codes. */
const NO_ANSWER_ERRORS = new Set([
  "TimeoutError",
  "RequestTimeout",
  "RequestTimeoutException",
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
]);

/** Classifies a SendCommand error so the sender retries only what a retry can fix (see SendFailure). */
export function classifySendError(error: unknown): SendFailure {
  const name = awsErrorName(error);
  if (name === "InvalidInstanceId") return "agent-not-addressable";
  const shape = (typeof error === "object" && error !== null ? error : {}) as {
    $fault?: unknown;
    $retryable?: { throttling?: unknown };
    $metadata?: { httpStatusCode?: unknown };
    code?: unknown;
  };
  const status = Number(shape.$metadata?.httpStatusCode ?? 0);
  const transient =
    THROTTLING_ERRORS.has(name) ||
    shape.$retryable?.throttling === true ||
    shape.$fault === "server" ||
    status >= 500 ||
    NO_ANSWER_ERRORS.has(name) ||
    NO_ANSWER_ERRORS.has(String(shape.code ?? ""));
  return transient ? "transient" : "refused";
}

export interface CommandInvocation {
  readonly status: string;
  readonly statusDetails: string;
  readonly terminal: boolean;
  readonly succeeded: boolean;
  readonly stdout: string;
  readonly stderr: string;
  readonly comment: string;
}

/**
 * The invocation's authoritative status and output, or undefined while SSM does not know it yet
 * (InvocationDoesNotExist just after SendCommand is eventual consistency, AWS-FACTS §4).
 */
export async function getInvocation(
  deps: GateDeps,
  commandId: string,
  instanceId: string,
): Promise<CommandInvocation | undefined> {
  try {
    const output = await deps.ssm.send(
      new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }),
    );
    const status = String(output.Status ?? "Pending");
    return {
      status,
      statusDetails: output.StatusDetails ?? status,
      terminal: TERMINAL_STATUSES.has(status),
      succeeded: status === "Success",
      stdout: output.StandardOutputContent ?? "",
      stderr: output.StandardErrorContent ?? "",
      comment: output.Comment ?? "",
    };
  } catch (error) {
    if (awsErrorName(error) === "InvocationDoesNotExist") return undefined;
    throw error;
  }
}
