import {
  type AttributeValue,
  BatchGetItemCommand,
  type BatchGetItemCommandInput,
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  type PutItemCommandInput,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { marshall } from "@aws-sdk/util-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { StaleRecordError } from "../../../shared/errors.js";
import type { SaveOptions } from "../../../shared/gate/ports.js";
import type { GateRecord } from "../../../shared/gate/record.js";
import { DynamoGateStore } from "../../../shared/store/dynamo-gate-store.js";
import { SqsRecheckScheduler } from "../../../shared/store/sqs-recheck-scheduler.js";
import { evaluateCondition } from "../../../sim/aws/condition-expression.js";
import { gateRecordOf, T0 } from "../../support/gate-harness.js";
import { InMemoryGateStore } from "../../support/in-memory-gate-store.js";

const record: GateRecord = gateRecordOf();

describe("DynamoGateStore", () => {
  const dynamo = mockClient(DynamoDBClient);
  beforeEach(() => dynamo.reset());
  const store = new DynamoGateStore(new DynamoDBClient({}), "state-table");

  it("creates a new record only where the instance has none: never over another wait's record", async () => {
    dynamo.on(PutItemCommand).resolves({});
    await store.save(record);
    const input = dynamo.commandCalls(PutItemCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      TableName: "state-table",
      ConditionExpression: "attribute_not_exists(instanceId)",
    });
    expect(input?.ExpressionAttributeValues).toBeUndefined();
    expect(input?.Item?.expiresAt).toEqual({ N: String(Math.floor(T0 / 1000) + 14 * 86400) });
  });

  it("replaces only exactly the record the writer read: its token and version", async () => {
    dynamo.on(PutItemCommand).resolves({});
    await store.save({ ...record, token: "new" }, { replacing: { token: "old", version: 7 } });
    expect(dynamo).toHaveReceivedCommandWith(PutItemCommand, {
      ConditionExpression: "#version = :expected AND #token = :token",
      ExpressionAttributeNames: { "#version": "version", "#token": "token" },
      ExpressionAttributeValues: { ":expected": { N: "7" }, ":token": { S: "old" } },
    });
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

  it("notes a heartbeat over exactly the version read, touching nothing else", async () => {
    dynamo.on(UpdateItemCommand).resolves({});
    await expect(
      store.noteHeartbeat({ instanceId: record.instanceId, token: "tok", version: 4 }, 1234),
    ).resolves.toBe(true);
    expect(dynamo).toHaveReceivedCommandWith(UpdateItemCommand, {
      Key: { instanceId: { S: record.instanceId } },
      UpdateExpression: "SET #lastHeartbeatAt = :at",
      ConditionExpression: "#version = :expected AND #token = :token",
      ExpressionAttributeValues: { ":expected": { N: "4" }, ":token": { S: "tok" }, ":at": { N: "1234" } },
    });
    expect(dynamo).not.toHaveReceivedCommand(PutItemCommand);
    dynamo
      .on(UpdateItemCommand)
      .rejects(new ConditionalCheckFailedException({ message: "failed", $metadata: {} }));
    await expect(
      store.noteHeartbeat({ instanceId: record.instanceId, token: "tok", version: 4 }, 1234),
    ).resolves.toBe(false);
    dynamo.on(UpdateItemCommand).rejects(new Error("socket hang up"));
    await expect(
      store.noteHeartbeat({ instanceId: record.instanceId, token: "tok", version: 4 }, 1234),
    ).rejects.toThrow("socket hang up");
  });

  it("reads consistently and drops the TTL attribute", async () => {
    dynamo.on(GetItemCommand).resolves({ Item: marshall({ ...record, expiresAt: 123 }) });
    await expect(store.load(record.instanceId)).resolves.toEqual(record);
    expect(dynamo).toHaveReceivedCommandWith(GetItemCommand, { ConsistentRead: true });
  });
});

describe("DynamoGateStore and the tests' InMemoryGateStore accept the same writes", () => {
  const dynamo = mockClient(DynamoDBClient);
  beforeEach(() => dynamo.reset());
  const store = new DynamoGateStore(new DynamoDBClient({}), "state-table");
  const stored: GateRecord = { ...record, token: "a", version: 3 };
  const write = (token: string, version: number): GateRecord => ({ ...record, token, version });
  const cases: [string, GateRecord | undefined, GateRecord, SaveOptions | undefined, boolean][] = [
    ["a new record where there is none", undefined, write("a", 1), undefined, true],
    ["a new record over another wait's record", stored, write("b", 1), undefined, false],
    ["a new record over the same wait's record", stored, write("a", 1), undefined, false],
    ["the next version of the same wait", stored, write("a", 4), undefined, true],
    ["a version that skips one", stored, write("a", 5), undefined, false],
    ["the next version under another token", stored, write("b", 4), undefined, false],
    ["a replacement of exactly the record read", stored, write("b", 1), { replacing: stored }, true],
    ["a renaming of exactly the record read", stored, write("b", 4), { replacing: stored }, true],
    [
      "a replacement of a record that moved on since",
      stored,
      write("b", 1),
      { replacing: write("a", 2) },
      false,
    ],
    [
      "a replacement of a record under another token",
      stored,
      write("b", 1),
      { replacing: write("c", 3) },
      false,
    ],
    ["a replacement of a record that is gone", undefined, write("b", 1), { replacing: stored }, false],
  ];

  /** Whether the write went through (false: StaleRecordError). */
  const accepted = (attempt: Promise<void>) =>
    attempt.then(
      () => true,
      (error: unknown) => {
        if (error instanceof StaleRecordError) return false;
        throw error;
      },
    );

  it.each(cases)("%s", async (_, before, record, options, expected) => {
    // DynamoDB's side: the condition the store sends, evaluated as DynamoDB does (the simulation's evaluator).
    dynamo.on(PutItemCommand).callsFake((input: PutItemCommandInput) => {
      const item = before ? marshall(before) : undefined;
      const names = input.ExpressionAttributeNames;
      if (!evaluateCondition(input.ConditionExpression ?? "", item, names, input.ExpressionAttributeValues)) {
        throw new ConditionalCheckFailedException({ message: "failed", $metadata: {} });
      }
      return {};
    });
    const memory = new InMemoryGateStore();
    if (before) memory.records.set(before.instanceId, before);

    expect(await accepted(store.save(record, options))).toBe(expected);
    expect(await accepted(memory.save(record, options))).toBe(expected);
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

  it("sends many in batches of ten per queue, rounding delays up, and returns what SQS did not take", async () => {
    sqs.on(SendMessageBatchCommand).callsFake(async (input) => ({
      Successful: [],
      Failed: input.QueueUrl === "result-url" ? [{ Id: input.Entries?.[0]?.Id, SenderFault: false }] : [],
    }));
    const agent = (n: number) => ({
      message: { step: "agent" as const, instanceId: `i-0${String(n).padStart(16, "0")}`, token: "t" },
      delaySeconds: 4.2,
    });
    const health = {
      message: { step: "health" as const, instanceId: "i-0123456789abcdef0", token: "t" },
      delaySeconds: 0,
    };
    const failed = await scheduler.scheduleMany([...Array.from({ length: 12 }, (_, n) => agent(n)), health]);

    expect(sqs).toHaveReceivedCommandTimes(SendMessageBatchCommand, 3);
    const calls = sqs.commandCalls(SendMessageBatchCommand).map((call) => call.args[0].input);
    expect(calls.map((input) => [input.QueueUrl, input.Entries?.length])).toEqual([
      ["launch-url", 10],
      ["launch-url", 2],
      ["result-url", 1],
    ]);
    expect(calls[0]?.Entries?.[0]?.DelaySeconds).toBe(5);
    expect(failed).toEqual([12]);
  });

  it("counts every entry of a batch call that failed outright as not sent", async () => {
    sqs.on(SendMessageBatchCommand).rejects(new Error("Rate exceeded"));
    const entry = {
      message: { step: "agent" as const, instanceId: "i-0123456789abcdef0", token: "t" },
      delaySeconds: 5,
    };
    await expect(scheduler.scheduleMany([entry, entry])).resolves.toEqual([0, 1]);
  });
});
