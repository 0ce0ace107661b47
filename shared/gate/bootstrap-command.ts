import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  ListCommandsCommand,
  SendCommandCommand,
} from "@aws-sdk/client-ssm";
import { awsErrorName } from "../errors.js";
import type { GateDeps } from "./deps.js";
import type { BootstrapPhase, GateRecord } from "./record.js";

/** Final command statuses (docs/aws-facts.md, SSM Run Command). Anything else counts as running. */
const TERMINAL_STATUSES = new Set(["Success", "Failed", "TimedOut", "Cancelled"]);

/** How long SSM may take to *deliver* the command to an agent that is already Online. */
export const DELIVERY_TIMEOUT_SECONDS = 300;

/**
 * The agent's ping status, or undefined when the instance has not registered with SSM yet. A poll, with
 * few attempts (GateDeps.polls): a throttle is the caller's "not yet".
 */
export async function agentPingStatus(deps: GateDeps, instanceId: string): Promise<string | undefined> {
  const { InstanceInformationList } = await (deps.polls?.ssm ?? deps.ssm).send(
    new DescribeInstanceInformationCommand({ Filters: [{ Key: "InstanceIds", Values: [instanceId] }] }),
  );
  const status = InstanceInformationList?.[0]?.PingStatus;
  return status === undefined ? undefined : String(status);
}

/** The comment ties a command to one wait, so a command sent just before a crash can be adopted. */
export function commandComment(token: string): string {
  return `launchgate launch ${token}`;
}

/** SSM keeps at most this much of a command's comment (SendCommand's limit). */
const COMMENT_LIMIT = 100;

/**
 * Whether a command's comment names this wait: under its token, or under the tokenless id it went by
 * before its lifecycle event arrived (a command sent then is still this wait's bootstrap).
 */
export function isCommandOfWait(
  record: Pick<GateRecord, "token" | "formerToken">,
  comment: string | undefined,
): boolean {
  if (comment === undefined) return false;
  const ids = record.formerToken === undefined ? [record.token] : [record.token, record.formerToken];
  return ids.some((id) => commandComment(id).slice(0, COMMENT_LIMIT) === comment);
}

export interface SendBootstrapInput {
  readonly documentName: string;
  readonly instanceId: string;
  readonly bootstrapPhase: BootstrapPhase;
  /** Why it runs (a document parameter with fixed allowed values). */
  readonly trigger: "launch" | "rebootstrap" | "remediate";
  /** Recorded with the command: names the wait or operation it belongs to (SSM allows 100 characters). */
  readonly comment: string;
  /** @default "$LATEST" — an operation may run an earlier version (a rollback) */
  readonly documentVersion?: string;
}

/** Sends the bootstrap document; returns the command id. Throws the SDK error unchanged. */
export async function sendBootstrapCommand(deps: GateDeps, input: SendBootstrapInput): Promise<string> {
  const { Command } = await (deps.ssmCommands ?? deps.ssm).send(
    new SendCommandCommand({
      DocumentName: input.documentName,
      // The stack updates the document in place with a new version; run what it deployed last.
      DocumentVersion: input.documentVersion ?? "$LATEST",
      InstanceIds: [input.instanceId],
      Parameters: { phase: [input.bootstrapPhase], trigger: [input.trigger] },
      Comment: input.comment.slice(0, COMMENT_LIMIT),
      TimeoutSeconds: DELIVERY_TIMEOUT_SECONDS,
      // SSM keeps only the first 24,000/8,000 characters of stdout/stderr; the agent streams the full
      // output here (docs/aws-facts.md, SSM Run Command), with the instance role's permissions.
      ...(deps.config.commandOutputLogGroup
        ? {
            CloudWatchOutputConfig: {
              CloudWatchOutputEnabled: true,
              CloudWatchLogGroupName: deps.config.commandOutputLogGroup,
            },
          }
        : {}),
    }),
  );
  if (!Command?.CommandId) throw new Error("SendCommand returned no command id");
  return Command.CommandId;
}

/** ListCommands' largest page. */
const LIST_COMMANDS_PAGE_SIZE = 50;
/**
 * Pages of an instance's commands looked through before giving up. An instance in its launch wait has
 * run a handful of commands at most: more pages mean something else is going on, and the caller must
 * not conclude "nothing was sent".
 */
export const LIST_COMMANDS_MAX_PAGES = 4;
/** Looked back beyond `sentAfter`, for any skew between our clock and SSM's. */
const LIST_COMMANDS_SLACK_MS = 60_000;

/** A command the gate found already sent for a wait. */
export interface SentCommand {
  readonly commandId: string;
  /** When SSM took the request (epoch ms), when it says. */
  readonly requestedAt?: number;
}

/**
 * The newest command sent to the instance since `sentAfter` whose comment names this wait, found with
 * ListCommands (filtered to the instance and the time since). Used only when taking over a send claim
 * whose lease ran out: its sender may have sent and then failed to record it, and a second bootstrap
 * while the first runs must never happen. Throws when the instance has more commands than it could
 * look through, rather than answer "none" without knowing.
 */
export async function findSentCommand(
  deps: GateDeps,
  record: Pick<GateRecord, "instanceId" | "token" | "formerToken">,
  sentAfter: number,
): Promise<SentCommand | undefined> {
  return findCommandByComment(deps, record.instanceId, sentAfter, (comment) =>
    isCommandOfWait(record, comment),
  );
}

/**
 * The newest command sent to the instance since `sentAfter` whose comment `matches` (an operation's
 * step adopts its own command this way after a crash between sending and saving). Throws when the
 * instance has more commands than it could look through, rather than answer "none" without knowing.
 */
export async function findCommandByComment(
  deps: GateDeps,
  instanceId: string,
  sentAfter: number,
  matches: (comment: string | undefined) => boolean,
): Promise<SentCommand | undefined> {
  const invokedAfter = new Date(Math.floor((sentAfter - LIST_COMMANDS_SLACK_MS) / 1000) * 1000)
    .toISOString()
    .replace(/\.\d{3}Z$/, "Z");
  const found: SentCommand[] = [];
  let nextToken: string | undefined;
  for (let page = 0; page < LIST_COMMANDS_MAX_PAGES; page += 1) {
    const output = await deps.ssm.send(
      new ListCommandsCommand({
        InstanceId: instanceId,
        Filters: [{ key: "InvokedAfter", value: invokedAfter }],
        MaxResults: LIST_COMMANDS_PAGE_SIZE,
        ...(nextToken ? { NextToken: nextToken } : {}),
      }),
    );
    for (const command of output?.Commands ?? []) {
      if (command.CommandId && matches(command.Comment)) {
        found.push({ commandId: command.CommandId, requestedAt: command.RequestedDateTime?.getTime() });
      }
    }
    nextToken = output?.NextToken;
    if (!nextToken) return newest(found);
  }
  throw new Error(
    `more than ${LIST_COMMANDS_MAX_PAGES * LIST_COMMANDS_PAGE_SIZE} commands on ${instanceId} since ${new Date(sentAfter).toISOString()}; cannot rule out a command already sent`,
  );
}

function newest(commands: readonly SentCommand[]): SentCommand | undefined {
  return [...commands].sort((a, b) => (b.requestedAt ?? 0) - (a.requestedAt ?? 0))[0];
}

/**
 * Before the agent registers, SendCommand fails with InvalidInstanceId (docs/aws-facts.md, SSM Run
 * Command).
 */
export function isInvalidInstanceId(error: unknown): boolean {
  return awsErrorName(error) === "InvalidInstanceId";
}

/**
 * What a failed SendCommand means for the wait:
 * - `agent-not-addressable`: the agent is not registered yet (InvalidInstanceId); keep waiting for it.
 * - `transient`: throttled: SSM did not take the request; retrying will get through.
 * - `unknown`: a server fault, or no answer at all: SSM may have taken the request. Sending again
 *   could start a second bootstrap, so the sender must first find out (ListCommands, by comment).
 * - `refused`: SSM answered and said no (AccessDenied, InvalidDocument, InvalidParameters, …); no
 *   retry can change that, so waiting until the agent timeout would only hide the cause for minutes.
 */
export type SendFailure = "agent-not-addressable" | "transient" | "unknown" | "refused";

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

/** Whether AWS refused the request for its rate (by name, or as the SDK flags it): it did not run. */
export function isThrottlingError(error: unknown): boolean {
  const shape = (typeof error === "object" && error !== null ? error : {}) as {
    $retryable?: { throttling?: unknown };
  };
  return THROTTLING_ERRORS.has(awsErrorName(error)) || shape.$retryable?.throttling === true;
}

/** Classifies a SendCommand error so the sender retries only what a retry can fix (see SendFailure). */
export function classifySendError(error: unknown): SendFailure {
  const name = awsErrorName(error);
  if (name === "InvalidInstanceId") return "agent-not-addressable";
  const shape = (typeof error === "object" && error !== null ? error : {}) as {
    $fault?: unknown;
    $metadata?: { httpStatusCode?: unknown };
    code?: unknown;
  };
  const status = Number(shape.$metadata?.httpStatusCode ?? 0);
  if (isThrottlingError(error)) return "transient";
  const unknown =
    shape.$fault === "server" ||
    status >= 500 ||
    NO_ANSWER_ERRORS.has(name) ||
    NO_ANSWER_ERRORS.has(String(shape.code ?? ""));
  return unknown ? "unknown" : "refused";
}

export interface CommandInvocation {
  readonly status: string;
  /** Why it ended: DeliveryTimedOut vs ExecutionTimedOut, Undeliverable, Terminated, … (see reasons.ts). */
  readonly statusDetails: string;
  readonly terminal: boolean;
  readonly succeeded: boolean;
  /** SSM's copies: only the first 24,000 (stdout) and 8,000 (stderr) characters. */
  readonly stdout: string;
  readonly stderr: string;
  readonly comment: string;
  readonly instanceId?: string;
  /** The CloudWatch Logs group holding the full output, when the command sent it there. */
  readonly outputLogGroup?: string;
}

/**
 * The invocation's authoritative status and output, or undefined while SSM does not know it yet
 * (InvocationDoesNotExist just after SendCommand is eventual consistency; docs/aws-facts.md, SSM Run
 * Command).
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
      instanceId,
      ...(output.CloudWatchOutputConfig?.CloudWatchOutputEnabled &&
      output.CloudWatchOutputConfig.CloudWatchLogGroupName
        ? { outputLogGroup: output.CloudWatchOutputConfig.CloudWatchLogGroupName }
        : {}),
    };
  } catch (error) {
    if (awsErrorName(error) === "InvocationDoesNotExist") return undefined;
    throw error;
  }
}
