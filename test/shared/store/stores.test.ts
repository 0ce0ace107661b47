import {
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
