import { InvokeCommand } from "@aws-sdk/client-lambda";
import type { OperationRecord } from "../../shared/ops/operation.js";
import type { RebootstrapPlan } from "../../shared/ops/start-rebootstrap.js";
import type { CliContext } from "../context.js";
import { CliError } from "../errors.js";

export interface RebootstrapOptions {
  readonly instanceId?: string;
  readonly group?: string;
  readonly all: boolean;
  readonly phase: "start" | "all";
  readonly dryRun: boolean;
  readonly wait: boolean;
}

/** Polling pace while following an operation. */
export const FOLLOW_SECONDS = 5;

/**
 * Invokes the re-bootstrap function (the same request an `aws lambda invoke` would send) and, with
 * --wait, follows the operation by asking the function for its state, printing each instance's result
 * as it lands. Returns the exit code: 0 when everything asked for succeeded.
 */
export async function rebootstrap(
  ctx: CliContext,
  options: RebootstrapOptions,
  print: (line: string) => void,
  sleep: (ms: number) => Promise<void>,
): Promise<number> {
  const request = toRequest(options);
  const plan = (await invoke(ctx, request)) as RebootstrapPlan;
  for (const resumed of plan.resumedLaunches)
    print(`${resumed.instanceId}: waiting at its launch hook; ${resumed.detail}`);
  for (const skipped of plan.notEligible) print(`${skipped.instanceId}: left alone: ${skipped.reason}`);
  if (plan.dryRun) {
    print(
      `dry run: would re-bootstrap ${plan.rebootstrap.join(", ") || "nothing"}, one at a time, each verified healthy before the next`,
    );
    return 0;
  }
  if (!plan.operation) return 0;
  const op = plan.operation;
  print(
    `operation ${op.operationId}: re-bootstrapping ${op.instanceIds.join(", ")} (phase ${op.bootstrapPhase}), one at a time`,
  );
  if (!options.wait) {
    print(`follow it with: launchgate rebootstrap --operation ${op.operationId}`);
    return 0;
  }
  return follow(ctx, op, print, sleep);
}

/** Prints an operation's results as they land, until it finishes. */
export async function follow(
  ctx: CliContext,
  start: OperationRecord,
  print: (line: string) => void,
  sleep: (ms: number) => Promise<void>,
): Promise<number> {
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
      return op.status === "succeeded" ? 0 : 1;
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

function toRequest(options: RebootstrapOptions): Record<string, unknown> {
  const common = { phase: options.phase, dryRun: options.dryRun };
  if (options.instanceId && options.group) throw new CliError("give an instance id or --group, not both", 2);
  if (options.instanceId) return { instanceId: options.instanceId, ...common };
  if (options.group) {
    if (!options.all)
      throw new CliError(
        `re-bootstrapping a whole group needs --all (launchgate rebootstrap --group ${options.group} --all)`,
        2,
      );
    return { autoScalingGroupName: options.group, all: true, ...common };
  }
  throw new CliError("give an instance id, or --group NAME --all", 2);
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
