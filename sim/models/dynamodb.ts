import {
  type AttributeValue,
  type BatchGetItemCommandInput,
  type BatchGetItemCommandOutput,
  ConditionalCheckFailedException,
  type DeleteItemCommandInput,
  type DeleteItemCommandOutput,
  type GetItemCommandInput,
  type GetItemCommandOutput,
  type PutItemCommandInput,
  type PutItemCommandOutput,
  type UpdateItemCommandInput,
  type UpdateItemCommandOutput,
} from "@aws-sdk/client-dynamodb";
import { evaluateCondition, resolvePath } from "../aws/condition-expression.js";

/**
 * SIMULATION — the DynamoDB calls the stores make: GetItem, BatchGetItem, conditional PutItem / DeleteItem, and
 * conditional UpdateItem (SET / REMOVE of top-level attributes, see updateItem), on tables with a single string
 * partition key. A failed condition throws the SDK's own ConditionalCheckFailedException, as the real client would,
 * so the stores' `instanceof` checks run. A request outside the modelled subset throws "simulation: unsupported".
 */
export class DynamoDbModel {
  private readonly tables = new Map<
    string,
    { keyAttribute: string; items: Map<string, Record<string, AttributeValue>> }
  >();

  addTable(name: string, keyAttribute: string): void {
    this.tables.set(name, { keyAttribute, items: new Map() });
  }

  /** Every item of a table (for the report). */
  items(tableName: string): Record<string, AttributeValue>[] {
    return [...(this.tables.get(tableName)?.items.values() ?? [])];
  }

  getItem(input: GetItemCommandInput): GetItemCommandOutput {
    const { table, key } = this.locate(input.TableName, input.Key);
    const item = table.items.get(key);
    return { $metadata: {}, Item: item === undefined ? undefined : structuredClone(item) };
  }

  /** Up to 100 keys; every key is answered here (nothing left unprocessed). */
  batchGetItem(input: BatchGetItemCommandInput): BatchGetItemCommandOutput {
    const keys = Object.values(input.RequestItems ?? {}).reduce((n, r) => n + (r.Keys?.length ?? 0), 0);
    if (keys > 100)
      throw new Error("simulation: BatchGetItem with more than 100 keys is a ValidationException");
    const responses = Object.fromEntries(
      Object.entries(input.RequestItems ?? {}).map(([tableName, request]) => [
        tableName,
        (request.Keys ?? []).flatMap((key) => {
          const item = this.getItem({ TableName: tableName, Key: key }).Item;
          return item ? [item] : [];
        }),
      ]),
    );
    return { $metadata: {}, Responses: responses, UnprocessedKeys: {} };
  }

  putItem(input: PutItemCommandInput): PutItemCommandOutput {
    const { table, key } = this.locate(input.TableName, input.Item);
    this.check(input, table.items.get(key));
    table.items.set(key, structuredClone(input.Item ?? {}));
    this.onPut?.(input.TableName ?? "", input.Item ?? {});
    return { $metadata: {} };
  }

  /** Called after every successful PutItem (the world watches the gate's decisions as they are made). */
  onPut?: (tableName: string, item: Record<string, AttributeValue>) => void;

  deleteItem(input: DeleteItemCommandInput): DeleteItemCommandOutput {
    const { table, key } = this.locate(input.TableName, input.Key);
    this.check(input, table.items.get(key));
    table.items.delete(key);
    return { $metadata: {} };
  }

  /**
   * UpdateItem, for the subset DynamoDB shares with this model: an UpdateExpression of a `SET path = :value, ...`
   * clause and / or a `REMOVE path, ...` clause (either order, each once), where a path is a top-level attribute
   * (`#name` through ExpressionAttributeNames, or a plain identifier) and a value an ExpressionAttributeValues
   * placeholder; an optional ConditionExpression (evaluateCondition) on the item as it was; ReturnValues NONE,
   * ALL_NEW or ALL_OLD. An absent item is created (its key plus what SET sets) unless the condition fails. Nested
   * paths, functions (if_not_exists, list_append), arithmetic, ADD / DELETE clauses, UPDATED_NEW / UPDATED_OLD,
   * ReturnValuesOnConditionCheckFailure and the legacy AttributeUpdates / Expected parameters throw "unsupported";
   * what DynamoDB itself rejects (updating the key, a clause twice, a path in two actions, an unused name or value)
   * throws as its ValidationException would.
   */
  updateItem(input: UpdateItemCommandInput): UpdateItemCommandOutput {
    if (input.AttributeUpdates !== undefined || input.Expected !== undefined || input.ConditionalOperator)
      throw new Error("simulation: unsupported UpdateItem legacy parameters (AttributeUpdates / Expected)");
    if (input.ReturnValuesOnConditionCheckFailure && input.ReturnValuesOnConditionCheckFailure !== "NONE")
      throw new Error("simulation: unsupported UpdateItem ReturnValuesOnConditionCheckFailure");
    const returnValues = input.ReturnValues ?? "NONE";
    if (returnValues !== "NONE" && returnValues !== "ALL_NEW" && returnValues !== "ALL_OLD")
      throw new Error(`simulation: unsupported UpdateItem ReturnValues ${returnValues}`);
    const { table, key } = this.locate(input.TableName, input.Key);
    const names = input.ExpressionAttributeNames ?? {};
    const values = input.ExpressionAttributeValues ?? {};
    const { set, remove } = parseUpdateExpression(input.UpdateExpression ?? "", names, values);
    for (const attribute of [...set.keys(), ...remove]) {
      if (attribute === table.keyAttribute)
        throw new Error(
          `simulation: UpdateItem on the key attribute ${attribute} is a ValidationException in DynamoDB (cannot update a key attribute)`,
        );
    }
    const used = `${input.UpdateExpression ?? ""} ${input.ConditionExpression ?? ""}`;
    for (const placeholder of [...Object.keys(names), ...Object.keys(values)]) {
      const escaped = placeholder.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      if (!new RegExp(`${escaped}(?!\\w)`).test(used))
        throw new Error(
          `simulation: ${placeholder} unused in the expressions is a ValidationException in DynamoDB`,
        );
    }
    const current = table.items.get(key);
    this.check(input, current);
    const updated: Record<string, AttributeValue> = current
      ? structuredClone(current)
      : { [table.keyAttribute]: structuredClone(input.Key?.[table.keyAttribute] as AttributeValue) };
    for (const [attribute, value] of set) updated[attribute] = structuredClone(value);
    for (const attribute of remove) delete updated[attribute];
    table.items.set(key, updated);
    // No onPut here: that hook watches the gate's decisions, which the gate saves whole with PutItem; an UpdateItem
    // (a watch's item, or a heartbeat's note on a record) never decides anything.
    const attributes =
      returnValues === "ALL_NEW"
        ? structuredClone(updated)
        : returnValues === "ALL_OLD" && current
          ? structuredClone(current)
          : undefined;
    return { $metadata: {}, ...(attributes ? { Attributes: attributes } : {}) };
  }

  private check(
    input: Pick<
      PutItemCommandInput,
      | "ConditionExpression"
      | "ExpressionAttributeNames"
      | "ExpressionAttributeValues"
      | "ReturnValuesOnConditionCheckFailure"
    >,
    current: Record<string, AttributeValue> | undefined,
  ): void {
    if (
      input.ConditionExpression &&
      !evaluateCondition(
        input.ConditionExpression,
        current,
        input.ExpressionAttributeNames,
        input.ExpressionAttributeValues,
      )
    ) {
      // ReturnValuesOnConditionCheckFailure ALL_OLD: the item that failed the condition rides on the error.
      const item = input.ReturnValuesOnConditionCheckFailure === "ALL_OLD" && current;
      throw new ConditionalCheckFailedException({
        message: "The conditional request failed",
        $metadata: {},
        ...(item ? { Item: structuredClone(item) } : {}),
      });
    }
  }

  private locate(tableName: string | undefined, keyOrItem: Record<string, AttributeValue> | undefined) {
    const table = this.tables.get(tableName ?? "");
    if (!table) throw new Error(`simulation: no table ${tableName}`);
    const key = keyOrItem?.[table.keyAttribute]?.S;
    if (key === undefined) throw new Error(`simulation: item without key ${table.keyAttribute}`);
    return { table, key };
  }
}

const PATH = /^(#\w+|[A-Za-z_][A-Za-z0-9_]*)$/;
const SET_ACTION = /^(#\w+|[A-Za-z_][A-Za-z0-9_]*)\s*=\s*(:\w+)$/;

/** The attributes an UpdateExpression sets (with their values) and removes; see DynamoDbModel.updateItem. */
function parseUpdateExpression(
  expression: string,
  names: Record<string, string>,
  values: Record<string, AttributeValue>,
): { set: Map<string, AttributeValue>; remove: string[] } {
  // Clause keywords are reserved words in DynamoDB (case-insensitive); a placeholder (#set, :add) is not one.
  const parts = expression.split(/(?<![#:\w])(SET|REMOVE|ADD|DELETE)(?!\w)/i);
  if (parts.length < 3 || (parts[0] ?? "").trim() !== "")
    throw new Error(`simulation: unsupported UpdateExpression "${expression}"`);
  const set = new Map<string, AttributeValue>();
  const remove: string[] = [];
  const seenClauses = new Set<string>();
  const seenPaths = new Set<string>();
  const claim = (attribute: string) => {
    if (seenPaths.has(attribute))
      throw new Error(
        `simulation: UpdateExpression naming ${attribute} twice is a ValidationException in DynamoDB (overlapping paths)`,
      );
    seenPaths.add(attribute);
  };
  for (let i = 1; i < parts.length; i += 2) {
    const clause = (parts[i] ?? "").toUpperCase();
    const body = (parts[i + 1] ?? "").trim();
    if (clause === "ADD" || clause === "DELETE")
      throw new Error(`simulation: unsupported UpdateExpression clause ${clause} in "${expression}"`);
    if (seenClauses.has(clause))
      throw new Error(
        `simulation: UpdateExpression with ${clause} twice is a ValidationException in DynamoDB ("${expression}")`,
      );
    seenClauses.add(clause);
    if (body === "")
      throw new Error(`simulation: unsupported UpdateExpression "${expression}" (empty ${clause})`);
    if (/[()]/.test(body))
      throw new Error(`simulation: unsupported UpdateExpression function in "${expression}"`);
    for (const action of body.split(",").map((a) => a.trim())) {
      if (clause === "SET") {
        const match = SET_ACTION.exec(action);
        if (!match?.[1] || !match[2])
          throw new Error(
            `simulation: unsupported UpdateExpression action "${action}" (only a top-level path = :value)`,
          );
        const attribute = resolvePath(match[1], names);
        const value = values[match[2]];
        if (value === undefined) throw new Error(`simulation: missing value ${match[2]}`);
        claim(attribute);
        set.set(attribute, value);
      } else {
        if (!PATH.test(action))
          throw new Error(
            `simulation: unsupported UpdateExpression REMOVE "${action}" (only a top-level path)`,
          );
        const attribute = resolvePath(action, names);
        claim(attribute);
        remove.push(attribute);
      }
    }
  }
  return { set, remove };
}
