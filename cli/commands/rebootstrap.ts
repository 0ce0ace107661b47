import { InvokeCommand } from "@aws-sdk/client-lambda";
import { fromStored, type OperationRecord } from "../../shared/ops/operation.js";
import type { RebootstrapPlan } from "../../shared/ops/start-rebootstrap.js";
import type { CliContext } from "../context.js";
import { CliError, EXIT } from "../errors.js";
import { checkBatch, checkDocumentVersion, MAX_DRAIN_SECONDS } from "../validation.js";
import { atATime, finalReport, paceOf, progressLines, resultLine } from "./operation-progress.js";

export interface RebootstrapOptions {
  readonly instanceId?: string;
  readonly group?: string;
  readonly all: boolean;
  readonly phase: "start" | "all";
  readonly dryRun: boolean;
  readonly wait: boolean;
  /** One JSON document at the end instead of lines as things happen (scripts read stdout whole). */
  readonly json?: boolean;
  /** Keep serving: the group scales out by one first, and back to its size at the end. */
  readonly surge?: boolean;
  /** Drain the last healthy target of a target group anyway: downtime accepted (and logged). */
  readonly force?: boolean;
  /** At most this long waiting for draining (0–3600 s); absent: the target group's deregistration delay. */
  readonly drainSeconds?: number;
  /**
   * The bootstrap document version every instance runs: $LATEST, $DEFAULT or a version number (an
   * earlier one rolls back a bad deploy); absent: the function's default, $LATEST.
   */
  readonly documentVersion?: string;
  /** A rollout's instances worked on at once: a count, or a percentage such as "25%"; default 1. */
  readonly batch?: number | string;
}

/** Polling pace while following an operation. */
export const FOLLOW_SECONDS = 5;

/**
 * Invokes the re-bootstrap function (the same request an `aws lambda invoke` would send) and, with
 * --wait, follows the operation by asking the function for its state, printing each instance's result
 * as it lands. With --json it prints only the plan and the operation's last state, as one document.
 * Returns the exit code: 0 when everything asked for succeeded.
 */
export async function rebootstrap(
  ctx: CliContext,
  options: RebootstrapOptions,
  print: (line: string) => void,
  sleep: (ms: number) => Promise<void>,
): Promise<number> {
  const request = rebootstrapRequest(options);
  const plan = (await invoke(ctx, request)) as RebootstrapPlan;
  // With --json, stdout carries only the document at the end: the running commentary is dropped.
  const say = options.json ? () => {} : print;
  for (const resumed of plan.resumedLaunches)
    say(`${resumed.instanceId}: waiting at its launch hook; ${resumed.detail}`);
  for (const skipped of plan.notEligible) say(`${skipped.instanceId}: left alone: ${skipped.reason}`);
  let operation = plan.operation ? fromStored({ ...plan.operation }) : null;
  let exitCode: number = EXIT.ok;
  if (plan.dryRun) {
    say(
      `dry run: would re-bootstrap ${plan.rebootstrap.join(", ") || "nothing"}, ${paceOf(plan.batchSize ?? 1)}${modeOf(options)}`,
    );
  } else if (operation) {
    say(
      `operation ${operation.operationId}: re-bootstrapping ${operation.instanceIds.join(", ")} (phase ${operation.bootstrapPhase}), ${atATime(operation.batchSize)}${modeOf(
        {
          drainFirst: operation.drainFirst,
          surge: operation.surge !== undefined,
          force: operation.force,
          drainSeconds: operation.drainSeconds,
          documentVersion: operation.documentVersion,
        },
      )}`,
    );
    if (options.wait) {
      operation = await follow(ctx, operation, say, sleep);
      exitCode = exitCodeOf(operation);
    } else {
      say(`follow it with: launchgate rebootstrap --operation ${operation.operationId}`);
    }
  }
  if (options.json) print(JSON.stringify({ ...plan, operation }, null, 2));
  return exitCode;
}

/** `--operation ID`: follows an operation started earlier until it finishes. */
export async function followOperation(
  ctx: CliContext,
  operationId: string,
  json: boolean,
  print: (line: string) => void,
  sleep: (ms: number) => Promise<void>,
): Promise<number> {
  const { operation } = (await invoke(ctx, { operationId })) as {
    operation: Record<string, unknown> | null;
  };
  if (!operation) throw new CliError(`no operation ${operationId} (records expire after 30 days)`);
  const finished = await follow(ctx, fromStored(operation), json ? () => {} : print, sleep);
  if (json) print(JSON.stringify({ operation: finished }, null, 2));
  return exitCodeOf(finished);
}

/**
 * Prints where the operation is (its step, and the instance it is on) whenever that changes, and each
 * instance's result as it lands; once it has finished, a table of every instance's outcome and reason
 * and the operation's own failure, if any. Returns its last state.
 */
export async function follow(
  ctx: CliContext,
  start: OperationRecord,
  print: (line: string) => void,
  sleep: (ms: number) => Promise<void>,
): Promise<OperationRecord> {
  let op = start;
  // An operation already over when asked about: its table says it all, without the results twice.
  let shown = start.status === "running" ? 0 : start.results.length;
  let lastProgress = "";
  for (;;) {
    op.results.slice(shown).forEach((result) => {
      print(resultLine(result, op.instanceIds.indexOf(result.instanceId) + 1, op.instanceIds.length));
    });
    shown = op.results.length;
    if (op.status !== "running") {
      for (const line of finalReport(op)) print(line);
      return op;
    }
    const progress = progressLines(op);
    if (progress.join("\n") !== lastProgress) for (const line of progress) print(line);
    lastProgress = progress.join("\n");
    await sleep(FOLLOW_SECONDS * 1000);
    const latest = (
      (await invoke(ctx, { operationId: op.operationId })) as { operation: Record<string, unknown> | null }
    ).operation;
    if (!latest) throw new CliError(`operation ${op.operationId} is gone (records expire after 30 days)`);
    op = fromStored(latest);
  }
}

/** How the operation treats serving capacity, as a suffix to the line that announces it. */
function modeOf(mode: {
  readonly drainFirst?: boolean;
  readonly surge?: boolean;
  readonly force?: boolean;
  readonly drainSeconds?: number;
  readonly documentVersion?: string;
}): string {
  const parts = [
    mode.drainFirst && "each drained out of its target groups first",
    mode.surge && "surge: the group scales out by one first, and back at the end",
    mode.force && "force: the last healthy target may be drained (downtime accepted)",
    mode.drainSeconds !== undefined && `draining waits at most ${mode.drainSeconds} s`,
    mode.documentVersion !== undefined && `bootstrap document version ${mode.documentVersion}`,
  ].filter((part) => typeof part === "string");
  return parts.length > 0 ? `; ${parts.join("; ")}` : "";
}

function exitCodeOf(operation: OperationRecord): number {
  return operation.status === "succeeded" ? EXIT.ok : EXIT.failed;
}

/**
 * The function's request for these options, or a usage error (exit 2) for a combination that names no
 * target, or two. The command line is checked with this before any AWS client is made.
 */
export function rebootstrapRequest(options: RebootstrapOptions): Record<string, unknown> {
  if (options.surge && options.force)
    throw new CliError(
      "--surge keeps serving (one more instance first) and --force accepts downtime: choose one",
      EXIT.usage,
    );
  const { drainSeconds } = options;
  if (
    drainSeconds !== undefined &&
    !(Number.isInteger(drainSeconds) && drainSeconds >= 0 && drainSeconds <= MAX_DRAIN_SECONDS)
  )
    throw new CliError(
      `--drain-seconds must be whole seconds from 0 to ${MAX_DRAIN_SECONDS} (got ${drainSeconds})`,
      EXIT.usage,
    );
  // The same check as the command line's; it throws the same usage error (exit 2).
  const { documentVersion, batch } = options;
  if (documentVersion !== undefined) checkDocumentVersion(documentVersion);
  if (batch !== undefined) checkBatch(String(batch));
  // Only the flags given are sent: a request without them is the one earlier versions sent.
  const common = {
    phase: options.phase,
    dryRun: options.dryRun,
    ...(options.surge ? { surge: true } : {}),
    ...(options.force ? { force: true } : {}),
    ...(drainSeconds === undefined ? {} : { drainSeconds }),
    ...(documentVersion === undefined ? {} : { documentVersion }),
  };
  if (options.instanceId && options.group)
    throw new CliError("give an instance id or --group, not both", EXIT.usage);
  if (options.surge && typeof batch === "number" && batch > 1)
    throw new CliError(
      `--surge adds one instance, so it keeps serving capacity only one instance at a time: drop --batch ${batch}, or raise the group's desired capacity by ${batch} first and roll out with --batch ${batch} without --surge`,
      EXIT.usage,
    );
  if (options.instanceId && batch !== undefined)
    throw new CliError(
      "--batch is for a rollout over a group (--group GROUP --all), not one instance",
      EXIT.usage,
    );
  if (options.instanceId) return { instanceId: options.instanceId, ...common };
  if (options.group) {
    if (!options.all)
      throw new CliError(
        `re-bootstrapping a whole group needs --all (launchgate rebootstrap --group ${options.group} --all)`,
        EXIT.usage,
      );
    return {
      autoScalingGroupName: options.group,
      all: true,
      ...common,
      ...(batch === undefined ? {} : { batch }),
    };
  }
  throw new CliError("give an instance id, or --group GROUP --all", EXIT.usage);
}

/** Invokes the function synchronously; a refusal (FunctionError) becomes a CliError with its message. */
export async function invoke(ctx: CliContext, request: Record<string, unknown>): Promise<unknown> {
  const { rebootstrapFunctionName } = await ctx.outputs();
  const response = await ctx.clients.lambda.send(
    new InvokeCommand({
      FunctionName: rebootstrapFunctionName,
      Payload: new TextEncoder().encode(JSON.stringify(request)),
    }),
  );
  const body = response.Payload ? JSON.parse(new TextDecoder().decode(response.Payload)) : null;
  if (response.FunctionError) {
    const { errorType, errorMessage } = (body ?? {}) as { errorType?: string; errorMessage?: string };
    throw new CliError(
      errorType === "InvalidInputError"
        ? `refused: ${errorMessage}${refusalHint(errorMessage ?? "")}`
        : `re-bootstrap function failed: ${errorType}: ${errorMessage}`,
    );
  }
  return body;
}

/** The function speaks in request fields; say which options of this command they are. */
function refusalHint(message: string): string {
  // An older function's strict schema: `unknown key "surge", "documentVersion"` (every key it lacks).
  const unknown = new Set(
    [...(/unknown key ((?:"\w+"(?:, )?)+)/.exec(message)?.[1] ?? "").matchAll(/"(\w+)"/g)].map((m) => m[1]),
  );
  // surge, force and drainSeconds came first: a function without them has no documentVersion either.
  if (["surge", "force", "drainSeconds"].some((key) => unknown.has(key)))
    return " (the deployed re-bootstrap function predates --surge, --force, --drain-seconds and --document-version: deploy this version of the stack)";
  if (unknown.has("documentVersion"))
    return " (the deployed re-bootstrap function predates --document-version, and runs $LATEST only: deploy this version of the stack)";
  if (unknown.has("batch"))
    return " (the deployed re-bootstrap function predates --batch, and rolls out one instance at a time: deploy this version of the stack)";
  if (message.includes('"surge": true') && message.includes('"force": true'))
    return " (on the command line: --surge or --force)";
  if (message.startsWith('"surge" adds one instance'))
    return " (on the command line: --surge without --batch, or --batch without --surge)";
  return "";
}
