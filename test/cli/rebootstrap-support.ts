import { InvokeCommand, type InvokeCommandOutput } from "@aws-sdk/client-lambda";
import { expect } from "vitest";
import type { CurrentInstance, LaneStep, OperationRecord } from "../../shared/ops/operation.js";
import { awsCalls, cliHarness, runCli } from "./cli-harness.js";

/** What the `launchgate rebootstrap` tests share: an operation, the function's answers, the requests it got. */

export const A = "i-0aaaaaaaaaaaaaaa1";
export const B = "i-0bbbbbbbbbbbbbbb2";
export const OP = "0e25976b-0000-4000-8000-000000000001";
export const GROUP = "cnt-backend-asg";

export const payload = (value: unknown) => ({
  Payload: new TextEncoder().encode(JSON.stringify(value)) as InvokeCommandOutput["Payload"],
  StatusCode: 200,
});

export function operation(changes: Partial<OperationRecord> = {}): OperationRecord {
  return {
    operationId: OP,
    kind: "rebootstrap",
    groupName: GROUP,
    bootstrapPhase: "start",
    instanceIds: [A, B],
    index: 0,
    batchSize: 1,
    step: "working",
    wave: [],
    status: "running",
    results: [],
    requestedAt: 0,
    updatedAt: 0,
    version: 1,
    drainFirst: true,
    force: false,
    ...changes,
  };
}

/**
 * An operation of `operation()`'s instances (A, B) working on one of them at `step`: its wave of one,
 * and every instance up to it taken.
 */
export function on(
  instanceId: string,
  step: LaneStep,
  current: Partial<CurrentInstance> = {},
): Pick<OperationRecord, "step" | "index" | "wave"> {
  return {
    step: "working",
    index: [A, B].indexOf(instanceId) + 1,
    wave: [{ instanceId, step, current: { instanceId, startedAt: 0, targets: [], ...current } }],
  };
}

export const planWith = (op: OperationRecord | undefined, dryRun = false) => ({
  dryRun,
  rebootstrap: op?.instanceIds ?? [A],
  batchSize: op?.batchSize ?? 1,
  resumedLaunches: [],
  notEligible: [],
  ...(op ? { operation: op } : {}),
});

/** The re-bootstrap function answering `answers` in turn (the last one from then on). */
export function answering(...answers: unknown[]) {
  const harness = cliHarness();
  let stub = harness.mocks.lambda.on(InvokeCommand);
  for (const answer of answers.slice(0, -1)) stub = stub.resolvesOnce(payload(answer));
  stub.resolves(payload(answers.at(-1)));
  return harness;
}

/** The re-bootstrap function refusing every request with `errorMessage` (an InvalidInputError). */
export function refusing(errorMessage: string) {
  const harness = cliHarness();
  harness.mocks.lambda.on(InvokeCommand).resolves({
    FunctionError: "Unhandled",
    ...payload({ errorType: "InvalidInputError", errorMessage }),
  });
  return harness;
}

/** Every request the function received, decoded. */
export function sentPayloads(harness: ReturnType<typeof cliHarness>): Record<string, unknown>[] {
  return harness.mocks.lambda
    .commandCalls(InvokeCommand)
    .map((call) => JSON.parse(new TextDecoder().decode(call.args[0].input.Payload as Uint8Array)));
}

/** A rejected command line: exit 2, nothing on stdout, no AWS client made, no AWS call; its message. */
export async function rejected(argv: readonly string[]) {
  const result = await runCli(argv);
  expect(result.code).toBe(2);
  expect(result.stdout).toEqual([]);
  expect(result.stderr).toHaveLength(1);
  expect(result.context).not.toHaveBeenCalled();
  expect(awsCalls(result.mocks)).toEqual([]);
  return result.stderr[0] ?? "";
}
