import { DescribeAutoScalingInstancesCommand } from "@aws-sdk/client-auto-scaling";
import { beforeEach, describe, expect, it } from "vitest";
import { createHandler as createOperationsHandler } from "../../functions/operations/handler.js";
import { createHandler } from "../../functions/rebootstrap/handler.js";
import { InvalidInputError } from "../../shared/errors.js";
import type { OpsDeps } from "../../shared/ops/advance-operation.js";
import { groupTargetGroups, invocation, sendCommandReturns, targetHealth } from "../support/aws-stubs.js";
import { type GateHarness, GROUP, gateHarness } from "../support/gate-harness.js";
import { InMemoryOperationStore } from "../support/in-memory-operation-store.js";

const A = "i-0aaaaaaaaaaaaaaa1";
let h: GateHarness;
let deps: OpsDeps;
let operations: InMemoryOperationStore;

beforeEach(() => {
  h = gateHarness();
  operations = new InMemoryOperationStore();
  deps = { ...h.deps, operations, cloudwatch: h.cloudwatch };
  h.autoScalingMock.on(DescribeAutoScalingInstancesCommand).resolves({
    AutoScalingInstances: [
      {
        InstanceId: A,
        AutoScalingGroupName: GROUP,
        AvailabilityZone: "eu-west-2a",
        LifecycleState: "InService",
        HealthStatus: "HEALTHY",
        ProtectedFromScaleIn: false,
      },
    ],
  });
  groupTargetGroups(h);
  sendCommandReturns(h, "cmd-1");
  targetHealth(h, "healthy");
});

const context = (ms: number) => ({ getRemainingTimeInMillis: () => ms });

describe("rebootstrap handler", () => {
  it("refuses a malformed request with InvalidInputError and its message", async () => {
    await expect(createHandler(() => deps)({ instanceId: "nope" }, context(60_000))).rejects.toBeInstanceOf(
      InvalidInputError,
    );
    expect(operations.operations.size).toBe(0);
  });

  it("starts an operation and returns at once without wait", async () => {
    const result = (await createHandler(() => deps)({ instanceId: A }, context(60_000))) as {
      operation: { status: string };
    };
    expect(result.operation.status).toBe("running");
  });

  it("with wait, returns when the operation is done, driving nothing itself", async () => {
    const handler = createHandler(
      () => deps,
      async (ms) => {
        // While the caller sleeps, time passes and the operation's re-checks run (as SQS would deliver them).
        h.advanceSeconds(ms / 1000);
        const message = h.rechecks.last().message;
        await createOperationsHandler(() => deps)({
          Records: [{ messageId: "m", body: JSON.stringify(message), eventSource: "aws:sqs" }],
        });
      },
    );
    invocation(h, { status: "Success" });
    const result = (await handler({ instanceId: A, wait: true }, context(600_000))) as {
      operation: { status: string };
    };
    expect(result.operation.status).toBe("succeeded");
  });

  it("with wait, gives up near the time limit and returns the operation still running", async () => {
    let sleeps = 0;
    const handler = createHandler(
      () => deps,
      async () => {
        sleeps += 1;
      },
    );
    const result = (await handler({ instanceId: A, wait: true }, context(14_000))) as {
      operation: { status: string };
    };
    expect(sleeps).toBe(0);
    expect(result.operation.status).toBe("running");
  });

  it("leaves the operation's steps to the operations function: an SQS batch is refused as a request", async () => {
    const batch = { Records: [{ messageId: "m", body: "{}", eventSource: "aws:sqs" }] };
    await expect(createHandler(() => deps)(batch, context(60_000))).rejects.toBeInstanceOf(InvalidInputError);
  });

  it("the operations function refuses anything but its queue's batches", async () => {
    await expect(createOperationsHandler(() => deps)({ instanceId: A })).rejects.toBeInstanceOf(
      InvalidInputError,
    );
  });

  it("answers an operation's state by id", async () => {
    await createHandler(() => deps)({ instanceId: A }, context(60_000));
    const { operationId } = operations.only();
    const result = (await createHandler(() => deps)({ operationId }, context(60_000))) as {
      operation: { operationId: string };
    };
    expect(result.operation.operationId).toBe(operationId);
  });
});
