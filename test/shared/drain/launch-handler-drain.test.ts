import { AutoScalingClient, CompleteLifecycleActionCommand } from "@aws-sdk/client-auto-scaling";
import { GetCommandInvocationCommand, SendCommandCommand, SSMClient } from "@aws-sdk/client-ssm";
import type { SQSEvent, SQSRecord } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { createHandler } from "../../../functions/launch/handler.js";
import type { DrainDeps } from "../../../shared/drain/drain.js";
import type { DrainRecord } from "../../../shared/drain/record.js";
import type { DrainStore } from "../../../shared/drain/store.js";
import { StaleRecordError } from "../../../shared/errors.js";
import type { GateDeps } from "../../../shared/gate/deps.js";
import { MAX_FAST_RETRIES } from "../../../shared/runtime/run-event.js";

/** The launch function's drain wiring: terminate events and drain re-checks reach shared/drain. */
const INSTANCE = "i-0123456789abcdef0";
const TOKEN = "11111111-2222-3333-4444-555555555555";

class MemoryDrains implements DrainStore {
  readonly records = new Map<string, DrainRecord>();
  async load(id: string) {
    return this.records.get(id);
  }
  async save(record: DrainRecord, replacing?: number) {
    const expected = replacing ?? record.version - 1;
    if ((this.records.get(record.instanceId)?.version ?? 0) !== expected)
      throw new StaleRecordError(record.instanceId, expected);
    this.records.set(record.instanceId, record);
  }
}

const autoScaling = mockClient(AutoScalingClient);
const ssm = mockClient(SSMClient);
let drains: MemoryDrains;
let scheduled: string[];
let gateCalls: number;
let refuseSends: boolean;

const config = {
  groups: [
    {
      name: "cnt-backend-asg",
      hookName: "launchgate-launch",
      documentName: "doc",
      drain: { hookName: "launchgate-launch-drain", timeoutSeconds: 60 },
    },
  ],
} as unknown as DrainDeps["config"];

function handler() {
  const gate = () => {
    gateCalls += 1;
    return { config } as unknown as GateDeps;
  };
  const drainDeps = (): DrainDeps => ({
    config,
    autoScaling: new AutoScalingClient({ region: "eu-west-2" }),
    ssm: new SSMClient({ region: "eu-west-2" }),
    drains,
    rechecks: {
      schedule: async (instanceId, token, delaySeconds, attempt) => {
        if (refuseSends) throw new Error("SQS unavailable");
        scheduled.push(
          `${instanceId} ${token}${attempt === undefined ? "" : ` attempt ${attempt} in ${delaySeconds} s`}`,
        );
      },
    },
    now: () => 1_000_000,
    log: { info: () => {}, warn: () => {} },
  });
  return createHandler(gate, drainDeps);
}

const terminateEvent = {
  version: "0",
  id: "e-1",
  "detail-type": "EC2 Instance-terminate Lifecycle Action",
  source: "aws.autoscaling",
  time: new Date(1_000_000).toISOString(),
  detail: {
    LifecycleActionToken: TOKEN,
    AutoScalingGroupName: "cnt-backend-asg",
    LifecycleHookName: "launchgate-launch-drain",
    EC2InstanceId: INSTANCE,
    LifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING",
  },
};

function sqsEvent(...bodies: string[]): SQSEvent {
  return {
    Records: bodies.map(
      (body, index) =>
        ({ messageId: `m-${index}`, body, eventSource: "aws:sqs", attributes: {} }) as unknown as SQSRecord,
    ),
  };
}

beforeEach(() => {
  autoScaling.reset();
  ssm.reset();
  autoScaling.on(CompleteLifecycleActionCommand).resolves({});
  ssm.on(SendCommandCommand).resolves({ Command: { CommandId: "cmd-1" } });
  drains = new MemoryDrains();
  scheduled = [];
  gateCalls = 0;
  refuseSends = false;
});

describe("launch handler: drain", () => {
  it("a terminate event starts a drain; its duplicate sends nothing more; the gate is not involved", async () => {
    const handle = handler();
    await expect(handle(terminateEvent)).resolves.toBeUndefined();
    await expect(handle(terminateEvent)).resolves.toBeUndefined();
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(1);
    expect(drains.records.get(INSTANCE)?.phase).toBe("draining");
    expect(gateCalls).toBe(0);
  });

  it("a malformed terminate event is acknowledged, not retried", async () => {
    const malformed = { ...terminateEvent, detail: { EC2InstanceId: "nope" } };
    await expect(handler()(malformed)).resolves.toBeUndefined();
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(0);
  });

  it("a drain re-check in an SQS batch goes to the drain; a stale one is acknowledged", async () => {
    const handle = handler();
    await handle(terminateEvent);
    ssm.on(GetCommandInvocationCommand).resolves({ Status: "InProgress" });
    const response = await handle(
      sqsEvent(
        JSON.stringify({ step: "drain", instanceId: INSTANCE, token: TOKEN }),
        JSON.stringify({ step: "drain", instanceId: INSTANCE, token: "another-drain" }),
      ),
    );
    expect(response).toEqual({ batchItemFailures: [] });
    expect(gateCalls).toBe(0);
    // Not finished yet (still running, limit not passed): followed by another re-check.
    expect(scheduled.length).toBeGreaterThanOrEqual(2);
  });

  it("a drain re-check that fails (its completion throttled) is retried soon, not after SQS's visibility timeout", async () => {
    const handle = handler();
    await handle(terminateEvent);
    ssm.on(GetCommandInvocationCommand).resolves({ Status: "Success" });
    autoScaling.on(CompleteLifecycleActionCommand).rejects(new Error("Rate exceeded"));
    scheduled = [];
    const recheck = { step: "drain", instanceId: INSTANCE, token: TOKEN };
    expect(await handle(sqsEvent(JSON.stringify(recheck)))).toEqual({ batchItemFailures: [] });
    expect(scheduled).toEqual([`${INSTANCE} ${TOKEN} attempt 1 in 5 s`]);
    // Its retry counts on; past the fast retries, or when the retry cannot be sent, SQS redelivers it.
    expect(await handle(sqsEvent(JSON.stringify({ ...recheck, attempt: 1 })))).toEqual({
      batchItemFailures: [],
    });
    expect(scheduled.at(-1)).toBe(`${INSTANCE} ${TOKEN} attempt 2 in 10 s`);
    expect(await handle(sqsEvent(JSON.stringify({ ...recheck, attempt: MAX_FAST_RETRIES })))).toEqual({
      batchItemFailures: [{ itemIdentifier: "m-0" }],
    });
    refuseSends = true;
    expect(await handle(sqsEvent(JSON.stringify(recheck)))).toEqual({
      batchItemFailures: [{ itemIdentifier: "m-0" }],
    });
    expect(drains.records.get(INSTANCE)?.phase).toBe("draining");
  });
});
