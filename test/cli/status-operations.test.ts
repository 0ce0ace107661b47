import { DescribeAutoScalingGroupsCommand } from "@aws-sdk/client-auto-scaling";
import {
  type AttributeValue,
  GetItemCommand,
  ScanCommand,
  type ScanCommandInput,
} from "@aws-sdk/client-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import { describe, expect, it } from "vitest";
import type { LaneStep, OperationRecord } from "../../shared/ops/operation.js";
import { groupDescription } from "../support/aws-stubs.js";
import { awsCalls, cliHarness, NOW, runCli } from "./cli-harness.js";
import { A, operation as anOperation, B, GROUP, OP, on } from "./rebootstrap-support.js";

/** `launchgate status`: the operations in flight, read from the operations table. */

const SURGING = OP;
const C = "i-0ccccccccccccccc3";
const DONE = "0e25976b-0000-4000-8000-000000000002";
const FAILED = "0e25976b-0000-4000-8000-000000000003";
const REMEDIATING = "0e25976b-0000-4000-8000-000000000004";

function operation(changes: Partial<OperationRecord>): OperationRecord {
  return anOperation({ requestedAt: NOW - 240_000, updatedAt: NOW - 10_000, version: 3, ...changes });
}

/** An operation as the store keeps it (shared/store/dynamo-operation-store.ts). */
const item = (op: OperationRecord) =>
  marshall(
    { ...op, id: `operation#${op.operationId}`, expiresAt: Math.floor(op.requestedAt / 1000) + 30 * 86400 },
    { removeUndefinedValues: true },
  );

/** A harness whose group exists with no instances, and whose operations table answers `pages` in turn. */
function withOperations(...pages: Record<string, AttributeValue>[][]) {
  const harness = cliHarness();
  harness.mocks.autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({
    AutoScalingGroups: [groupDescription([], { DesiredCapacity: 1, TargetGroupARNs: [] })],
  });
  let stub = harness.mocks.dynamodb.on(ScanCommand);
  for (const [i, page] of pages.entries()) {
    if (i < pages.length - 1)
      stub = stub.resolvesOnce({ Items: page, LastEvaluatedKey: { id: { S: `page-${i}` } } });
    else stub.resolves({ Items: page });
  }
  return harness;
}

const scans = (harness: ReturnType<typeof cliHarness>): ScanCommandInput[] =>
  harness.mocks.dynamodb.commandCalls(ScanCommand).map((call) => call.args[0].input);

describe("launchgate status: operations in flight", () => {
  it("none: says so, and --json gives an empty list", async () => {
    const text = await runCli(["status"], withOperations([]));
    expect(text.code).toBe(0);
    expect(text.stdout.slice(-2)).toEqual(["no operation in flight", ""]);

    const json = await runCli(["status", "--json"], withOperations([]));
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout[0] ?? "")[0].operations).toEqual([]);
  });

  it("reads them with one filtered Scan of the operations table, and nothing else of it", async () => {
    const harness = withOperations([]);
    await runCli(["status", GROUP], harness);
    const [scan, ...more] = scans(harness);
    expect(more).toEqual([]);
    expect(scan?.TableName).toBe("operations");
    const names = scan?.ExpressionAttributeNames ?? {};
    const name = (attribute: string) => Object.keys(names).find((key) => names[key] === attribute);
    expect(scan?.FilterExpression).toBe(
      `begins_with(${name("id")}, :prefix) AND ${name("status")} = :running AND ${name("groupName")} IN (:g0)`,
    );
    expect(scan?.ExpressionAttributeValues).toEqual({
      ":prefix": { S: "operation#" },
      ":running": { S: "running" },
      ":g0": { S: GROUP },
    });
    // Only what status shows: not the results, nor the targets.
    const projected = (scan?.ProjectionExpression ?? "").split(", ").map((path) =>
      path
        .split(".")
        .map((part) => names[part])
        .join("."),
    );
    expect(projected).toContain("current.instanceId");
    expect(projected).not.toContain("results");
    expect(projected).not.toContain("current");
    // Read-only calls, on this table and the gate table alike.
    expect(awsCalls(harness.mocks).filter((call) => !/^(Describe|Get|List|Scan)/.test(call))).toEqual([]);
  });

  it("one running with surge: its id, kind, group, step, progress, start and flags", async () => {
    const surging = operation({ step: "surging", surge: { originalDesired: 1, deadline: NOW + 600_000 } });
    const text = await runCli(["status"], withOperations([item(surging)]));
    expect(text.code).toBe(0);
    expect(text.stdout.slice(-4)).toEqual([
      "operations in flight:",
      "  OPERATION                             KIND         GROUP            WORKING ON  PROGRESS     STARTED    FLAGS",
      `  ${SURGING}  rebootstrap  ${GROUP}  surging     0 of 2 done  4 min ago  surge`,
      "",
    ]);

    const json = await runCli(["status", "--json"], withOperations([item(surging)]));
    expect(JSON.parse(json.stdout[0] ?? "")[0].operations).toEqual([
      {
        operationId: SURGING,
        kind: "rebootstrap",
        groupName: GROUP,
        step: "surging",
        working: [],
        done: 0,
        total: 2,
        batchSize: 1,
        requestedAt: NOW - 240_000,
        updatedAt: NOW - 10_000,
        surge: true,
        force: false,
      },
    ]);
  });

  it("finished ones (succeeded, failed) and other groups' are not listed, even if the table returns them", async () => {
    const running = operation({
      ...on(B, "draining", { startedAt: NOW - 30_000, targets: [], drained: true }),
      force: true,
      drainSeconds: 60,
      results: [{ instanceId: A, outcome: "succeeded", seconds: 300, reason: "healthy" }],
    });
    const harness = withOperations([
      item(operation({ operationId: DONE, status: "succeeded", index: 2 })),
      item(running),
      item(
        operation({ operationId: FAILED, status: "failed", failure: "surge refused: at its maximum size" }),
      ),
      item(operation({ operationId: REMEDIATING, groupName: "payments-asg" })),
    ]);
    const { code, stdout } = await runCli(["status"], harness);
    expect(code).toBe(0);
    expect(stdout.slice(-4)).toEqual([
      "operations in flight:",
      "  OPERATION                             KIND         GROUP            WORKING ON                    PROGRESS     STARTED    FLAGS",
      `  ${SURGING}  rebootstrap  ${GROUP}  ${B} draining  1 of 2 done  4 min ago  force, drain ≤ 60 s`,
      "",
    ]);
    const json = await runCli(["status", "--json"], harness);
    const listed = JSON.parse(json.stdout[0] ?? "")[0].operations;
    expect(listed.map((op: { operationId: string }) => op.operationId)).toEqual([SURGING]);
    expect(listed[0]).toMatchObject({
      working: [{ instanceId: B, step: "draining" }],
      done: 1,
      total: 2,
      force: true,
      drainSeconds: 60,
    });
  });

  it("a rollback: the document version among its flags, in --json, and read by the Scan", async () => {
    const rollback = operation({
      ...on(A, "running", { startedAt: NOW - 60_000, targets: [], drained: true, commandId: "cmd-a" }),
      documentVersion: "1",
    });
    const harness = withOperations([item(rollback)]);
    const { code, stdout } = await runCli(["status"], harness);
    expect(code).toBe(0);
    expect(stdout.slice(-4)).toEqual([
      "operations in flight:",
      "  OPERATION                             KIND         GROUP            WORKING ON                   PROGRESS     STARTED    FLAGS",
      `  ${SURGING}  rebootstrap  ${GROUP}  ${A} running  0 of 2 done  4 min ago  document version 1`,
      "",
    ]);
    const [scan] = scans(harness);
    const names = scan?.ExpressionAttributeNames ?? {};
    const projected = (scan?.ProjectionExpression ?? "").split(", ").map((path) => names[path]);
    expect(projected).toContain("documentVersion");

    const json = await runCli(["status", "--json"], withOperations([item(rollback)]));
    expect(JSON.parse(json.stdout[0] ?? "")[0].operations).toEqual([
      {
        operationId: SURGING,
        kind: "rebootstrap",
        groupName: GROUP,
        step: "working",
        working: [{ instanceId: A, step: "running" }],
        done: 0,
        total: 2,
        batchSize: 1,
        requestedAt: NOW - 240_000,
        updatedAt: NOW - 10_000,
        surge: false,
        force: false,
        documentVersion: "1",
      },
    ]);

    const withOthers = operation({ documentVersion: "$DEFAULT", force: true, drainSeconds: 30 });
    const other = await runCli(["status"], withOperations([item(withOthers)]));
    expect(other.stdout.at(-2)).toMatch(/ {2}force, drain ≤ 30 s, document version \$DEFAULT$/);
  });

  it("a rollout in waves: every instance of its wave with its step, and its batch among the flags", async () => {
    const lane = (instanceId: string, step: LaneStep) => ({
      instanceId,
      step,
      current: { instanceId, startedAt: NOW - 60_000, targets: [], drained: true },
    });
    const rollout = operation({
      instanceIds: [A, B, C],
      batchSize: 2,
      index: 2,
      wave: [lane(A, "verifying"), lane(B, "running")],
    });
    const { stdout } = await runCli(["status"], withOperations([item(rollout)]));
    expect(stdout.at(-2)).toBe(
      `  ${SURGING}  rebootstrap  ${GROUP}  ${A} verifying, ${B} running  0 of 3 done  4 min ago  batch 2`,
    );
  });

  it("remediations too, with their alarm; oldest first; across every page of the Scan", async () => {
    const remediation = operation({
      ...on(A, "verifying", { startedAt: NOW - 60_000, targets: [], commandId: "cmd-1" }),
      operationId: REMEDIATING,
      kind: "remediate",
      alarmName: "cnt-backend-unhealthy",
      instanceIds: [A],
      requestedAt: NOW - 3 * 3600_000,
    });
    const rebootstrap = operation({ ...on(A, "running", { startedAt: 0, targets: [] }) });
    const harness = withOperations([item(rebootstrap)], [], [item(remediation)]);
    const { stdout } = await runCli(["status"], harness);
    expect(stdout.slice(-5)).toEqual([
      "operations in flight:",
      "  OPERATION                             KIND         GROUP            WORKING ON                     PROGRESS     STARTED    FLAGS",
      `  ${REMEDIATING}  remediate    ${GROUP}  ${A} verifying  0 of 1 done  3 h ago    alarm cnt-backend-unhealthy`,
      `  ${SURGING}  rebootstrap  ${GROUP}  ${A} running    0 of 2 done  4 min ago  —`,
      "",
    ]);
    expect(scans(harness).map((scan) => scan.ExclusiveStartKey)).toEqual([
      undefined,
      { id: { S: "page-0" } },
      { id: { S: "page-1" } },
    ]);
  });

  it("a Scan the operator may not make: explained on stderr, exit 1, nothing on stdout", async () => {
    const harness = withOperations([]);
    harness.mocks.dynamodb
      .on(ScanCommand)
      .rejects(
        Object.assign(
          new Error(
            "User: arn:aws:iam::123456789012:user/ops is not authorized to perform: dynamodb:Scan on resource: arn:aws:dynamodb:eu-west-2:123456789012:table/operations",
          ),
          { name: "AccessDeniedException" },
        ),
      );
    harness.mocks.dynamodb.on(GetItemCommand).resolves({});
    const { code, stdout, stderr } = await runCli(["status", "--json"], harness);
    expect(code).toBe(1);
    expect(stdout).toEqual([]);
    expect(stderr).toEqual([
      "launchgate: permission denied: User: arn:aws:iam::123456789012:user/ops is not authorized to perform: dynamodb:Scan on resource: arn:aws:dynamodb:eu-west-2:123456789012:table/operations",
    ]);
  });
});
