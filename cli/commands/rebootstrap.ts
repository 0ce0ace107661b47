import { InvokeCommand } from "@aws-sdk/client-lambda";
import type { OperationRecord } from "../../shared/ops/operation.js";
import type { RebootstrapPlan } from "../../shared/ops/start-rebootstrap.js";
import type { CliContext } from "../context.js";
import { CliError, EXIT } from "../errors.js";

export interface RebootstrapOptions {
  readonly instanceId?: string;
  readonly group?: string;
  readonly all: boolean;
  readonly phase: "start" | "all";
  readonly dryRun: boolean;
  readonly wait: boolean;
  /** One JSON document at the end instead of lines as things happen (scripts read stdout whole). */
  readonly json?: boolean;
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
  let operation = plan.operation ?? null;
  let exitCode: number = EXIT.ok;
  if (plan.dryRun) {
    say(
      `dry run: would re-bootstrap ${plan.rebootstrap.join(", ") || "nothing"}, one at a time, each verified healthy before the next`,
    );
  } else if (operation) {
    say(
      `operation ${operation.operationId}: re-bootstrapping ${operation.instanceIds.join(", ")} (phase ${operation.bootstrapPhase}), one at a time`,
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
  const { operation } = (await invoke(ctx, { operationId })) as { operation: OperationRecord | null };
  if (!operation) throw new CliError(`no operation ${operationId} (records expire after 30 days)`);
  const finished = await follow(ctx, operation, json ? () => {} : print, sleep);
  if (json) print(JSON.stringify({ operation: finished }, null, 2));
  return exitCodeOf(finished);
}

/** Prints an operation's results as they land, until it finishes; returns its last state. */
export async function follow(
  ctx: CliContext,
  start: OperationRecord,
  print: (line: string) => void,
  sleep: (ms: number) => Promise<void>,
): Promise<OperationRecord> {
  let op = start;
  let shown = 0;
  let lastProgress = "";
  for (;;) {
    for (const result of op.results.slice(shown)) {
      print(
        `  ${result.instanceId}  ${result.outcome.padEnd(9)} ${String(result.seconds).padStart(4)} s  ${result.reason}`,
      );
    }
    shown = op.results.length;
    if (op.status !== "running") {
      print(`operation ${op.status}`);
      return op;
    }
    const progress = op.current ? `  … ${op.current.instanceId}: ${op.step}` : "";
    if (progress && progress !== lastProgress) print(progress);
    lastProgress = progress;
    await sleep(FOLLOW_SECONDS * 1000);
    const latest = (
      (await invoke(ctx, { operationId: op.operationId })) as { operation: OperationRecord | null }
    ).operation;
    if (!latest) throw new CliError(`operation ${op.operationId} is gone (records expire after 30 days)`);
    op = latest;
  }
}

function exitCodeOf(operation: OperationRecord): number {
  return operation.status === "succeeded" ? EXIT.ok : EXIT.failed;
}

/**
 * The function's request for these options, or a usage error (exit 2) for a combination that names no
 * target, or two. The command line is checked with this before any AWS client is made.
 */
export function rebootstrapRequest(options: RebootstrapOptions): Record<string, unknown> {
  const common = { phase: options.phase, dryRun: options.dryRun };
  if (options.instanceId && options.group)
    throw new CliError("give an instance id or --group, not both", EXIT.usage);
  if (options.instanceId) return { instanceId: options.instanceId, ...common };
  if (options.group) {
    if (!options.all)
      throw new CliError(
        `re-bootstrapping a whole group needs --all (launchgate rebootstrap --group ${options.group} --all)`,
        EXIT.usage,
      );
    return { autoScalingGroupName: options.group, all: true, ...common };
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
        ? `refused: ${errorMessage}`
        : `re-bootstrap function failed: ${errorType}: ${errorMessage}`,
    );
  }
  return body;
}
