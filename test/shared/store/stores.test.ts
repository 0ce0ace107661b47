import {
  type AttributeValue,
  BatchGetItemCommand,
  type BatchGetItemCommandInput,
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from "@aws-sdk/client-dynamodb";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { marshall } from "@aws-sdk/util-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { StaleRecordError } from "../../../shared/errors.js";
import type { GateRecord } from "../../../shared/gate/record.js";
import { DynamoGateStore } from "../../../shared/store/dynamo-gate-store.js";
import { SqsRecheckScheduler } from "../../../shared/store/sqs-recheck-scheduler.js";
import { T0 } from "../../support/gate-harness.js";

const record: GateRecord = {
  instanceId: "i-0123456789abcdef0",
  groupName: "cnt-backend-asg",
  hookName: "launchgate-launch",
  token: "tok",
  mode: { bootstrapPhase: "all", needsTraffic: true },
  phase: "awaiting-agent",
  startedAt: T0,
  phaseStartedAt: T0,
  deadline: T0 + 2_400_000,
  lastHeartbeatAt: T0,
  registered: [],
  history: [],
  version: 1,
};

describe("DynamoGateStore", () => {
  const dynamo = mockClient(DynamoDBClient);
  beforeEach(() => dynamo.reset());
  const store = new DynamoGateStore(new DynamoDBClient({}), "state-table");

  it("creates a wait's record only if none exists for that token", async () => {
    dynamo.on(PutItemCommand).resolves({});
    await store.save(record);
    expect(dynamo).toHaveReceivedCommandWith(PutItemCommand, {
      TableName: "state-table",
      ConditionExpression: "attribute_not_exists(instanceId) OR #token <> :token",
      ExpressionAttributeValues: { ":token": { S: "tok" } },
    });
    const item = dynamo.commandCalls(PutItemCommand)[0]?.args[0].input.Item;
    expect(item?.expiresAt).toEqual({ N: String(Math.floor(T0 / 1000) + 14 * 86400) });
  });

  it("updates only from the previous version of the same wait", async () => {
    dynamo.on(PutItemCommand).resolves({});
    await store.save({ ...record, version: 4 });
    expect(dynamo).toHaveReceivedCommandWith(PutItemCommand, {
      ConditionExpression: "#version = :expected AND #token = :token",
      ExpressionAttributeValues: { ":expected": { N: "3" }, ":token": { S: "tok" } },
    });
  });

  it("turns a failed condition into StaleRecordError", async () => {
    dynamo
      .on(PutItemCommand)
      .rejects(new ConditionalCheckFailedException({ message: "failed", $metadata: {} }));
    await expect(store.save(record)).rejects.toBeInstanceOf(StaleRecordError);
  });

  it("reads consistently and drops the TTL attribute", async () => {
    dynamo.on(GetItemCommand).resolves({ Item: marshall({ ...record, expiresAt: 123 }) });
    await expect(store.load(record.instanceId)).resolves.toEqual(record);
    expect(dynamo).toHaveReceivedCommandWith(GetItemCommand, { ConsistentRead: true });
  });
});

describe("DynamoGateStore.loadMany", () => {
  const dynamo = mockClient(DynamoDBClient);
  const pauses: number[] = [];
  beforeEach(() => {
    dynamo.reset();
    pauses.length = 0;
  });
  const store = new DynamoGateStore(new DynamoDBClient({}), "state-table", async (ms) => {
    pauses.push(ms);
  });
  const item = (instanceId: string) => marshall({ ...record, instanceId, expiresAt: 123 });
  const keysOf = (input: BatchGetItemCommandInput) =>
    (input.RequestItems?.["state-table"]?.Keys ?? []).map((key) => String(key.instanceId?.S));
  /** Answers every key asked for that has a record (ids not starting "i-none"), leaving `unprocessed` out. */
  function answer(unprocessed: (keys: string[], call: number) => string[] = () => []): void {
    let call = 0;
    dynamo.on(BatchGetItemCommand).callsFake((input: BatchGetItemCommandInput) => {
      const keys = keysOf(input);
      const left = unprocessed(keys, call++);
      const served = keys.filter((id) => !left.includes(id) && !id.startsWith("i-none"));
      const leftKeys: Record<string, AttributeValue>[] = left.map((id) => ({ instanceId: { S: id } }));
      return {
        Responses: { "state-table": served.map(item) },
        ...(left.length > 0 ? { UnprocessedKeys: { "state-table": { Keys: leftKeys } } } : {}),
      };
    });
  }

  it("reads in batches of 100 distinct keys, strongly consistent, and drops the TTL attribute", async () => {
    answer();
    const ids = Array.from({ length: 250 }, (_, n) => `i-${n}`);
    const found = await store.loadMany([...ids, "i-7", "i-none-1"]);
    expect(dynamo.commandCalls(BatchGetItemCommand).map((c) => keysOf(c.args[0].input).length)).toEqual([
      100, 100, 51,
    ]);
    expect(dynamo).toHaveReceivedCommandWith(BatchGetItemCommand, {
      RequestItems: { "state-table": { Keys: expect.any(Array), ConsistentRead: true } },
    });
    expect(found.size).toBe(250);
    expect(found.get("i-7")).toEqual({ ...record, instanceId: "i-7" });
    expect(found.has("i-none-1")).toBe(false);
  });

  it("asks again for keys DynamoDB left unprocessed, pausing longer each time", async () => {
    answer((keys, call) => (call < 2 ? keys.slice(0, 1) : []));
    const found = await store.loadMany(["i-a", "i-b"]);
    expect([...found.keys()].sort()).toEqual(["i-a", "i-b"]);
    expect(dynamo.commandCalls(BatchGetItemCommand).map((c) => keysOf(c.args[0].input))).toEqual([
      ["i-a", "i-b"],
      ["i-a"],
      ["i-a"],
    ]);
    expect(pauses).toEqual([50, 100]);
  });

  it("gives up, with an error, on keys that stay unprocessed", async () => {
    answer((keys) => keys);
    await expect(store.loadMany(["i-a"])).rejects.toThrow(
      "DynamoDB left 1 gate record reads unprocessed after 5 tries",
    );
    expect(dynamo).toHaveReceivedCommandTimes(BatchGetItemCommand, 5);
    expect(pauses).toEqual([50, 100, 200, 400]);
  });

  it("makes no request for no instances", async () => {
    expect((await store.loadMany([])).size).toBe(0);
    expect(dynamo).toHaveReceivedCommandTimes(BatchGetItemCommand, 0);
  });
});

describe("SqsRecheckScheduler", () => {
  const sqs = mockClient(SQSClient);
  beforeEach(() => sqs.reset());
  const scheduler = new SqsRecheckScheduler(new SQSClient({}), {
    launch: "launch-url",
    result: "result-url",
    operations: "ops-url",
  });

  it("routes agent re-checks to the launch queue and clamps the delay to SQS's 900 s", async () => {
    sqs.on(SendMessageCommand).resolves({});
    await scheduler.schedule({ step: "agent", instanceId: "i-0123456789abcdef0", token: "t" }, 15);
    await scheduler.schedule({ step: "health", instanceId: "i-0123456789abcdef0", token: "t" }, 5000);
    expect(sqs).toHaveReceivedNthCommandWith(SendMessageCommand, 1, {
      QueueUrl: "launch-url",
      DelaySeconds: 15,
    });
    expect(sqs).toHaveReceivedNthCommandWith(SendMessageCommand, 2, {
      QueueUrl: "result-url",
      DelaySeconds: 900,
    });
  });
});
