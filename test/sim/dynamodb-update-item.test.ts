import { type AttributeValue, ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { describe, expect, it } from "vitest";
import { accessRequests } from "../../sim/aws/authorization.js";
import { evaluateCondition } from "../../sim/aws/condition-expression.js";
import { SIM_ACCOUNT, SIM_REGION } from "../../sim/deploy/intrinsics.js";
import { DynamoDbModel } from "../../sim/models/dynamodb.js";

const TABLE = "records";

function model(items: Record<string, AttributeValue>[] = []): DynamoDbModel {
  const db = new DynamoDbModel();
  db.addTable(TABLE, "id");
  for (const item of items) db.putItem({ TableName: TABLE, Item: item });
  return db;
}

const key = { id: { S: "k1" } };
const stored = (db: DynamoDbModel) => db.getItem({ TableName: TABLE, Key: key }).Item;

describe("simulated DynamoDB UpdateItem", () => {
  it("creates an absent item from its key and what SET sets", () => {
    const db = model();
    const out = db.updateItem({
      TableName: TABLE,
      Key: key,
      UpdateExpression: "SET #s = :s, count = :n",
      ExpressionAttributeNames: { "#s": "state" },
      ExpressionAttributeValues: { ":s": { S: "open" }, ":n": { N: "1" } },
    });
    expect(out.Attributes).toBeUndefined();
    expect(stored(db)).toEqual({ id: { S: "k1" }, state: { S: "open" }, count: { N: "1" } });
  });

  it("sets several and removes several attributes in one expression, clauses in either order", () => {
    const db = model([{ id: { S: "k1" }, a: { S: "a" }, b: { S: "b" }, c: { S: "c" }, d: { S: "d" } }]);
    db.updateItem({
      TableName: TABLE,
      Key: key,
      UpdateExpression: "REMOVE #b, c SET a = :a, #e = :e, f = :f",
      ExpressionAttributeNames: { "#b": "b", "#e": "e" },
      ExpressionAttributeValues: { ":a": { S: "A" }, ":e": { N: "5" }, ":f": { BOOL: true } },
    });
    expect(stored(db)).toEqual({
      id: { S: "k1" },
      a: { S: "A" },
      d: { S: "d" },
      e: { N: "5" },
      f: { BOOL: true },
    });
    db.updateItem({
      TableName: TABLE,
      Key: key,
      UpdateExpression: "set a = :a remove d",
      ExpressionAttributeValues: { ":a": { S: "AA" } },
    });
    expect(stored(db)).toEqual({ id: { S: "k1" }, a: { S: "AA" }, e: { N: "5" }, f: { BOOL: true } });
  });

  it("resolves names holding ':' and '-', in the update and in the condition", () => {
    const db = model([{ id: { S: "k1" }, "m:i-0abc123": { N: "2" }, "old-name": { S: "x" } }]);
    db.updateItem({
      TableName: TABLE,
      Key: key,
      UpdateExpression: "SET #m = :m REMOVE #old",
      ConditionExpression: "attribute_exists(#m) AND #m < :m AND attribute_exists(#old)",
      ExpressionAttributeNames: { "#m": "m:i-0abc123", "#old": "old-name" },
      ExpressionAttributeValues: { ":m": { N: "3" } },
    });
    expect(stored(db)).toEqual({ id: { S: "k1" }, "m:i-0abc123": { N: "3" } });
  });

  it("applies the update when the condition holds", () => {
    const db = model([{ id: { S: "k1" }, version: { N: "3" } }]);
    db.updateItem({
      TableName: TABLE,
      Key: key,
      UpdateExpression: "SET #v = :next",
      ConditionExpression: "#v = :expected",
      ExpressionAttributeNames: { "#v": "version" },
      ExpressionAttributeValues: { ":expected": { N: "3" }, ":next": { N: "4" } },
    });
    expect(stored(db)).toEqual({ id: { S: "k1" }, version: { N: "4" } });
  });

  it("changes nothing and throws ConditionalCheckFailedException when the condition fails", () => {
    const db = model([{ id: { S: "k1" }, version: { N: "3" }, gone: { S: "keep" } }]);
    const update = () =>
      db.updateItem({
        TableName: TABLE,
        Key: key,
        UpdateExpression: "SET #v = :next REMOVE gone",
        ConditionExpression: "#v = :expected",
        ExpressionAttributeNames: { "#v": "version" },
        ExpressionAttributeValues: { ":expected": { N: "2" }, ":next": { N: "4" } },
        ReturnValues: "ALL_NEW",
      });
    expect(update).toThrow(ConditionalCheckFailedException);
    expect(stored(db)).toEqual({ id: { S: "k1" }, version: { N: "3" }, gone: { S: "keep" } });
  });

  it("does not create an absent item when the condition fails", () => {
    const db = model();
    expect(() =>
      db.updateItem({
        TableName: TABLE,
        Key: key,
        UpdateExpression: "SET a = :a",
        ConditionExpression: "attribute_exists(id)",
        ExpressionAttributeValues: { ":a": { S: "a" } },
      }),
    ).toThrow(ConditionalCheckFailedException);
    expect(stored(db)).toBeUndefined();
  });

  it("evaluates attribute_not_exists, attribute_exists, < and >= conditions", () => {
    const update =
      (db: DynamoDbModel, condition: string, values: Record<string, AttributeValue> = {}) =>
      () =>
        db.updateItem({
          TableName: TABLE,
          Key: key,
          UpdateExpression: "SET touched = :t",
          ConditionExpression: condition,
          ExpressionAttributeNames: { "#n": "n" },
          ExpressionAttributeValues: { ":t": { BOOL: true }, ...values },
        });
    const absent = model();
    expect(update(absent, "attribute_not_exists(#n) OR #n = :t")).not.toThrow();
    const db = model([{ id: { S: "k1" }, n: { N: "5" } }]);
    expect(update(db, "attribute_not_exists(#n) OR #n = :t")).toThrow(ConditionalCheckFailedException);
    expect(update(db, "attribute_exists(#n) OR #n = :t")).not.toThrow();
    expect(update(db, "attribute_exists(missing) OR #n = :t")).toThrow(ConditionalCheckFailedException);
    expect(update(db, "#n < :x", { ":x": { N: "6" } })).not.toThrow();
    expect(update(db, "#n < :x", { ":x": { N: "5" } })).toThrow(ConditionalCheckFailedException);
    expect(update(db, "#n >= :x", { ":x": { N: "5" } })).not.toThrow();
    expect(update(db, "#n >= :x", { ":x": { N: "6" } })).toThrow(ConditionalCheckFailedException);
  });

  it("returns nothing, the new item or the old item as ReturnValues asks, as copies", () => {
    const db = model([{ id: { S: "k1" }, a: { S: "old" }, b: { S: "b" } }]);
    const update = (value: string, ReturnValues?: "NONE" | "ALL_NEW" | "ALL_OLD") =>
      db.updateItem({
        TableName: TABLE,
        Key: key,
        UpdateExpression: "SET a = :a",
        ExpressionAttributeValues: { ":a": { S: value } },
        ReturnValues,
      }).Attributes;
    expect(update("v1")).toBeUndefined();
    expect(update("v2", "NONE")).toBeUndefined();
    const after = update("v3", "ALL_NEW");
    expect(after).toEqual({ id: { S: "k1" }, a: { S: "v3" }, b: { S: "b" } });
    const before = update("v4", "ALL_OLD");
    expect(before).toEqual({ id: { S: "k1" }, a: { S: "v3" }, b: { S: "b" } });
    if (after?.a) after.a.S = "mutated";
    expect(stored(db)).toEqual({ id: { S: "k1" }, a: { S: "v4" }, b: { S: "b" } });
    const fresh = model();
    expect(
      fresh.updateItem({
        TableName: TABLE,
        Key: key,
        UpdateExpression: "SET a = :a",
        ExpressionAttributeValues: { ":a": { S: "x" } },
        ReturnValues: "ALL_OLD",
      }).Attributes,
    ).toBeUndefined();
  });

  it("does not report an update to onPut (that hook watches whole PutItem writes)", () => {
    const db = model();
    const puts: string[] = [];
    db.onPut = (table) => puts.push(table);
    db.updateItem({
      TableName: TABLE,
      Key: key,
      UpdateExpression: "SET a = :a",
      ExpressionAttributeValues: { ":a": { S: "x" } },
    });
    expect(puts).toEqual([]);
  });

  describe("refuses what it does not model, and what DynamoDB rejects", () => {
    const db = model([{ id: { S: "k1" }, a: { N: "1" } }]);
    const attempt =
      (
        UpdateExpression: string,
        extra: {
          names?: Record<string, string>;
          values?: Record<string, AttributeValue>;
          ReturnValues?: "UPDATED_NEW" | "UPDATED_OLD";
        } = {},
      ) =>
      () =>
        db.updateItem({
          TableName: TABLE,
          Key: key,
          UpdateExpression,
          ExpressionAttributeNames: extra.names,
          ExpressionAttributeValues: extra.values ?? { ":v": { N: "2" } },
          ReturnValues: extra.ReturnValues,
        });

    it.each([
      ["a nested path", "SET #a.#b = :v", { names: { "#a": "a", "#b": "b" } }],
      ["a list index", "SET a[0] = :v", {}],
      ["if_not_exists", "SET a = if_not_exists(a, :v)", {}],
      ["list_append", "SET a = list_append(a, :v)", {}],
      ["arithmetic", "SET a = a + :v", {}],
      ["an ADD clause", "ADD a :v", {}],
      ["a DELETE clause", "DELETE a :v", {}],
      ["a nested REMOVE", "REMOVE #a.#b", { names: { "#a": "a", "#b": "b" }, values: {} }],
    ] as const)("throws unsupported for %s", (_, expression, extra) => {
      expect(attempt(expression, extra)).toThrow(/simulation: unsupported/);
    });

    it("throws unsupported for UPDATED_NEW and UPDATED_OLD", () => {
      expect(attempt("SET a = :v", { ReturnValues: "UPDATED_NEW" })).toThrow(/simulation: unsupported/);
      expect(attempt("SET a = :v", { ReturnValues: "UPDATED_OLD" })).toThrow(/simulation: unsupported/);
    });

    it("throws a ValidationException for the key, a repeated clause or path, or an unused placeholder", () => {
      expect(attempt("SET #k = :v", { names: { "#k": "id" } })).toThrow(/key attribute id/);
      expect(attempt("REMOVE id", { values: {} })).toThrow(/key attribute id/);
      expect(attempt("SET a = :v SET b = :v")).toThrow(/SET twice/);
      expect(attempt("SET a = :v REMOVE a")).toThrow(/twice/);
      expect(attempt("SET a = :v", { values: { ":v": { N: "2" }, ":unused": { N: "3" } } })).toThrow(
        /:unused unused/,
      );
    });

    it("throws for a missing placeholder", () => {
      expect(attempt("SET #missing = :v")).toThrow(/missing name #missing/);
      expect(attempt("SET a = :nope")).toThrow(/missing value :nope/);
    });

    it("leaves the item as it was after every refusal", () => {
      expect(stored(db)).toEqual({ id: { S: "k1" }, a: { N: "1" } });
    });
  });
});

describe("simulated DynamoDB conditions: existence and number ordering", () => {
  const item = { id: { S: "k" }, n: { N: "5" }, s: { S: "x" } };
  it("compares numbers with <, <=, > and >=, and an absent or non-number attribute as false", () => {
    const check = (expression: string, value: string) =>
      evaluateCondition(expression, item, {}, { ":x": { N: value } });
    expect([
      check("n < :x", "5"),
      check("n <= :x", "5"),
      check("n > :x", "5"),
      check("n >= :x", "5"),
    ]).toEqual([false, true, false, true]);
    expect([
      check("n > :x", "4"),
      check("n < :x", "10"),
      check("n <= :x", "4"),
      check("n >= :x", "6"),
    ]).toEqual([true, true, false, false]);
    expect(check("missing > :x", "0")).toBe(false);
    expect(check("s > :x", "0")).toBe(false);
    expect(() => evaluateCondition("n > :x", item, {}, { ":x": { S: "4" } })).toThrow(/unsupported/);
  });
});

describe("IAM mapping of the simulated UpdateItem", () => {
  it("asks dynamodb:UpdateItem on the table's ARN", () => {
    const directory = {
      groupArn: () => "",
      groupOfInstance: () => undefined,
      queueArn: () => "",
      partitionKeyOf: () => "instanceId",
    };
    expect(accessRequests("UpdateItem", { TableName: TABLE }, directory)).toEqual([
      {
        action: "dynamodb:UpdateItem",
        resource: `arn:aws:dynamodb:${SIM_REGION}:${SIM_ACCOUNT}:table/${TABLE}`,
        context: {},
      },
    ]);
  });
});
