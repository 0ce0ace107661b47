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
} from "@aws-sdk/client-dynamodb";
import { evaluateCondition } from "../aws/condition-expression.js";

/**
 * SIMULATION — the DynamoDB calls the stores make: GetItem, BatchGetItem, and conditional PutItem / DeleteItem, on
 * tables with a single string partition key. A failed condition throws the SDK's own
 * ConditionalCheckFailedException, as the real client would, so the stores' `instanceof` checks run.
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

  private check(
    input: Pick<
      PutItemCommandInput,
      "ConditionExpression" | "ExpressionAttributeNames" | "ExpressionAttributeValues"
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
      throw new ConditionalCheckFailedException({ message: "The conditional request failed", $metadata: {} });
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
