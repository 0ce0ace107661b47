import { DescribeAutoScalingInstancesCommand } from "@aws-sdk/client-auto-scaling";
import { DescribeInstanceInformationCommand, SendCommandCommand } from "@aws-sdk/client-ssm";
import type { SQSEvent, SQSRecord } from "aws-lambda";
import { beforeEach, describe, expect, it } from "vitest";
import { createHandler as createCommandResultHandler } from "../../functions/command-result/handler.js";
import { createHandler as createLaunchHandler } from "../../functions/launch/handler.js";
import {
  agentPing,
  hookAcceptsCompletion,
  lifecycleState,
  sendCommandReturns,
} from "../support/aws-stubs.js";
import { fixture } from "../support/events.js";
import { type GateHarness, gateHarness, INSTANCE_ID, TOKEN } from "../support/gate-harness.js";

let h: GateHarness;
beforeEach(() => {
  h = gateHarness();
  lifecycleState(h, "Pending:Wait");
  hookAcceptsCompletion(h);
});

/** The next look for the agent (an agent re-check's first AWS call) is throttled; later ones answer. */
function throttleNextAgentLook(): void {
  let throttled = false;
  h.ssmMock.on(DescribeInstanceInformationCommand).callsFake(async () => {
    if (throttled) return { InstanceInformationList: [] };
    throttled = true;
    throw new Error("Rate exceeded");
  });
}

function sqsEvent(...bodies: string[]): SQSEvent {
  return {
    Records: bodies.map(
      (body, index) =>
        ({ messageId: `m-${index}`, body, eventSource: "aws:sqs", attributes: {} }) as unknown as SQSRecord,
    ),
  };
}

describe("launch handler", () => {
  it("opens the gate for a real-shaped lifecycle event, and sends from the re-check it kicks", async () => {
    agentPing(h, "Online");
    sendCommandReturns(h, "cmd-1");
    const handler = createLaunchHandler(() => h.deps);
    await handler(fixture("launch-lifecycle-action"));
    expect(h.store.get(INSTANCE_ID).token).toBe(TOKEN);

    await handler(sqsEvent(JSON.stringify(h.rechecks.last().message)));
    expect(h.ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);
  });

  it("acknowledges a test notification (no token) without touching AWS", async () => {
    await expect(createLaunchHandler(() => h.deps)(fixture("test-notification"))).resolves.toBeUndefined();
    expect(h.autoScalingMock).not.toHaveReceivedCommand(DescribeAutoScalingInstancesCommand);
  });

  it("acknowledges a malformed event, changes nothing, and does not throw (no retry storm)", async () => {
    const malformed = { ...fixture("launch-lifecycle-action"), detail: { EC2InstanceId: "not-an-instance" } };
    await expect(createLaunchHandler(() => h.deps)(malformed)).resolves.toBeUndefined();
    expect(h.autoScalingMock).not.toHaveReceivedCommand(DescribeAutoScalingInstancesCommand);
    expect(h.store.records.size).toBe(0);
  });

  it("rethrows a transient failure so EventBridge retries it", async () => {
    h.deps.rechecks.schedule = async () => {
      throw new Error("Rate exceeded");
    };
    await expect(createLaunchHandler(() => h.deps)(fixture("launch-lifecycle-action"))).rejects.toThrow(
      "Rate exceeded",
    );
  });

  it("reschedules a failed re-check soon and acknowledges it; drops garbage; reports nothing", async () => {
    agentPing(h, undefined);
    await createLaunchHandler(() => h.deps)(fixture("launch-lifecycle-action"));
    throttleNextAgentLook();

    const good = JSON.stringify({ step: "agent", instanceId: INSTANCE_ID, token: TOKEN });
    const before = h.rechecks.scheduled.length;
    const result = await createLaunchHandler(() => h.deps)(sqsEvent(good, "{not json", good));

    // One copy's look was throttled: rescheduled as attempt 1 in 5 s. m-1 is garbage: dropped. The
    // other copy ran (the batch's messages run at once, so which copy met the throttle varies).
    expect(result).toEqual({ batchItemFailures: [] });
    const scheduled = h.rechecks.scheduled.slice(before);
    expect(scheduled).toHaveLength(2);
    expect(scheduled).toContainEqual({
      message: { step: "agent", instanceId: INSTANCE_ID, token: TOKEN, attempt: 1 },
      delaySeconds: 5,
    });
  });

  it("leaves a re-check to SQS redelivery after too many attempts, or when rescheduling fails", async () => {
    agentPing(h, undefined);
    await createLaunchHandler(() => h.deps)(fixture("launch-lifecycle-action"));
    const exhausted = JSON.stringify({ step: "agent", instanceId: INSTANCE_ID, token: TOKEN, attempt: 8 });
    throttleNextAgentLook();
    expect(await createLaunchHandler(() => h.deps)(sqsEvent(exhausted))).toEqual({
      batchItemFailures: [{ itemIdentifier: "m-0" }],
    });

    throttleNextAgentLook();
    h.deps.rechecks.schedule = async () => {
      throw new Error("SQS throttled too");
    };
    const fresh = JSON.stringify({ step: "agent", instanceId: INSTANCE_ID, token: TOKEN });
    expect(await createLaunchHandler(() => h.deps)(sqsEvent(fresh))).toEqual({
      batchItemFailures: [{ itemIdentifier: "m-0" }],
    });
  });

  it("drops a re-check step that belongs to the other function", async () => {
    const result = await createLaunchHandler(() => h.deps)(
      sqsEvent(JSON.stringify({ step: "health", instanceId: INSTANCE_ID, token: TOKEN })),
    );
    expect(result).toEqual({ batchItemFailures: [] });
    expect(h.autoScalingMock).not.toHaveReceivedCommand(DescribeAutoScalingInstancesCommand);
  });
});

describe("command-result handler", () => {
  it("acknowledges a status event for an instance the gate does not know", async () => {
    await expect(
      createCommandResultHandler(() => h.deps)(fixture("command-invocation-success")),
    ).resolves.toBeUndefined();
  });

  it("acknowledges an event of another source", async () => {
    await expect(
      createCommandResultHandler(() => h.deps)(fixture("launch-lifecycle-action")),
    ).resolves.toBeUndefined();
    expect(h.autoScalingMock).not.toHaveReceivedCommand(DescribeAutoScalingInstancesCommand);
  });
});
