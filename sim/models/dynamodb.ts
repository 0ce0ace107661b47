import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type GetItemCommandInput,
  type GetItemCommandOutput,
  type PutItemCommandInput,
  type PutItemCommandOutput,
} from "@aws-sdk/client-dynamodb";
import { evaluateCondition } from "../aws/condition-expression.js";

/**
 * SIMULATION — the DynamoDB calls the gate store makes: GetItem and a conditional PutItem on a table
 * keyed by `instanceId`. A failed condition throws the SDK's own ConditionalCheckFailedException, as
 * the real client would, so the store's `instanceof` check is exercised.
 */
export class DynamoDbModel {
  readonly items = new Map<string, Record<string, AttributeValue>>();

  getItem(input: GetItemCommandInput): GetItemCommandOutput {
    const key = input.Key?.instanceId?.S ?? "";
    const item = this.items.get(key);
    return { $metadata: {}, Item: item === undefined ? undefined : structuredClone(item) };
  }

  putItem(input: PutItemCommandInput): PutItemCommandOutput {
    const item = input.Item ?? {};
    const key = item.instanceId?.S ?? "";
    const current = this.items.get(key);
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
    this.items.set(key, structuredClone(item));
    return { $metadata: {} };
  }
}
