import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  type PutItemCommandInput,
} from "@aws-sdk/client-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import type { DrainRecord } from "../../../shared/drain/record.js";
import { DynamoDrainStore } from "../../../shared/drain/store.js";
import { StaleRecordError } from "../../../shared/errors.js";
import type { GateRecord } from "../../../shared/gate/record.js";
import type { OperationRecord } from "../../../shared/ops/operation.js";
import { DynamoGateStore } from "../../../shared/store/dynamo-gate-store.js";
import { DynamoOperationStore } from "../../../shared/store/dynamo-operation-store.js";
import { WRITE_ID_ATTRIBUTE } from "../../../shared/store/own-write.js";
import { evaluateCondition } from "../../../sim/aws/condition-expression.js";
import { gateRecordOf, T0 } from "../../support/gate-harness.js";

/**
 * A versioned save whose first attempt DynamoDB applied but whose answer was lost (a timeout, a 5xx
 * after the commit): the SDK sends it again, and the retry fails its condition against the item the
 * first attempt put. The stores must take that for their own write — not for another writer's, which
 * would end a wait's re-check chain with nobody to carry it on.
 */

const gateRecord: GateRecord = gateRecordOf({ version: 2 });

const operation = {
  operationId: "op-1",
  kind: "rebootstrap",
  groupName: "cnt-backend-asg",
  bootstrapPhase: "start",
  instanceIds: ["i-0123456789abcdef0"],
  index: 0,
  batchSize: 1,
  step: "working",
  status: "running",
  wave: [],
  results: [],
  requestedAt: T0,
  updatedAt: T0,
  version: 2,
} as unknown as OperationRecord;

const drain = {
  instanceId: "i-0123456789abcdef0",
  groupName: "cnt-backend-asg",
  hookName: "launchgate-drain",
  token: "drain-tok",
  phase: "sending",
  destination: "EC2",
  startedAt: T0,
  deadline: T0 + 300_000,
  version: 2,
} as unknown as DrainRecord;

const dynamo = mockClient(DynamoDBClient);
const client = new DynamoDBClient({});

/** DynamoDB's side: one item, conditions evaluated as DynamoDB does (the simulation's evaluator). */
let stored: Record<string, AttributeValue> | undefined;

function conditionHolds(input: PutItemCommandInput): boolean {
  return evaluateCondition(
    input.ConditionExpression ?? "",
    stored,
    input.ExpressionAttributeNames,
    input.ExpressionAttributeValues,
  );
}

function conditionFailed(input: PutItemCommandInput): never {
  throw new ConditionalCheckFailedException({
    message: "The conditional request failed",
    $metadata: {},
    ...(input.ReturnValuesOnConditionCheckFailure === "ALL_OLD" && stored ? { Item: stored } : {}),
  });
}

/** The write lands; its answer is lost; the retry meets the item it put. */
function answerLostThenRetried(input: PutItemCommandInput): never {
  if (!conditionHolds(input)) conditionFailed(input);
  stored = input.Item;
  return conditionFailed(input);
}

/** Another writer saved the same version first. */
function anotherWriterFirst(input: PutItemCommandInput): never {
  stored = { ...(input.Item ?? {}), [WRITE_ID_ATTRIBUTE]: { S: "someone-else" } };
  return conditionFailed(input);
}

const stores = [
  {
    name: "the gate store",
    save: () => new DynamoGateStore(client, "state").save(gateRecord),
    before: marshall({ ...gateRecord, version: 1 }),
  },
  {
    name: "the operation store",
    save: () => new DynamoOperationStore(client, "ops").save(operation),
    before: marshall({ ...operation, id: "operation#op-1", version: 1 }),
  },
  {
    name: "the drain store",
    save: () => new DynamoDrainStore(client, "state").save(drain),
    before: marshall({ ...drain, instanceId: "drain#i-0123456789abcdef0", version: 1 }),
  },
];

describe.each(stores)("$name, saving a new version", ({ save, before }) => {
  beforeEach(() => {
    dynamo.reset();
    stored = before;
  });

  it("takes a retry that failed against its own first attempt for the write it is", async () => {
    dynamo.on(PutItemCommand).callsFake(answerLostThenRetried);
    await expect(save()).resolves.toBeUndefined();
    expect(stored?.version).toEqual({ N: "2" });
  });

  it("still refuses when another writer got there first", async () => {
    dynamo.on(PutItemCommand).callsFake(anotherWriterFirst);
    await expect(save()).rejects.toBeInstanceOf(StaleRecordError);
  });

  it("still refuses when DynamoDB returns no item with the failure", async () => {
    dynamo
      .on(PutItemCommand)
      .rejects(new ConditionalCheckFailedException({ message: "failed", $metadata: {} }));
    await expect(save()).rejects.toBeInstanceOf(StaleRecordError);
  });
});

describe("reading back what was saved", () => {
  beforeEach(() => dynamo.reset());
  const withWriteId = (item: object) => marshall({ ...item, [WRITE_ID_ATTRIBUTE]: "w-1", expiresAt: 1 });

  it("the gate store returns the record without the write's id", async () => {
    dynamo.on(GetItemCommand).resolves({ Item: withWriteId(gateRecord) });
    await expect(new DynamoGateStore(client, "state").load(gateRecord.instanceId)).resolves.toEqual(
      gateRecord,
    );
  });

  it("the operation store returns the operation without the write's id", async () => {
    dynamo.on(GetItemCommand).resolves({ Item: withWriteId({ ...operation, id: "operation#op-1" }) });
    await expect(new DynamoOperationStore(client, "ops").load("op-1")).resolves.toEqual(operation);
  });

  it("the drain store returns the drain without the write's id", async () => {
    dynamo.on(GetItemCommand).resolves({
      Item: withWriteId({
        ...drain,
        instanceId: "drain#i-0123456789abcdef0",
        drainedInstanceId: drain.instanceId,
      }),
    });
    await expect(new DynamoDrainStore(client, "state").load(drain.instanceId)).resolves.toEqual(drain);
  });
});
